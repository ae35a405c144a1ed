// The one rule for a VM's ssh login user, shared by the metadata reader (domain-xml/metadata.ts) and the ssh
// config writer (net/ssh-config.ts): the portable POSIX user name, lower case as useradd wants it. Nothing else is
// ever passed to ssh as the user or written to the user's ssh config.

export const SSH_USER_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** Why `value` cannot be a VM's ssh login user, or undefined when it can. */
export function sshUserProblem(value: string): string | undefined {
  return SSH_USER_PATTERN.test(value)
    ? undefined
    : 'not a user name (lower-case letters, digits, _ . -, starting with a letter or _, at most 32)';
}
