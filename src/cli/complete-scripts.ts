// The completion scripts `roost completion bash|zsh|fish` prints. Each is a thin shim: it hands the words of
// the line up to the cursor to `roost __complete --` and shows the candidates that come back (complete.ts works
// them out from the command table). The last line of the answer says whether file names fit too (`:files`).
// Errors are never shown: stderr goes to /dev/null, and a failed call offers nothing.

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# roost completion for bash.
# Install: roost completion bash > ~/.local/share/bash-completion/completions/roost
# (needs the bash-completion package), or for this shell only: source <(roost completion bash)
_roost() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n' line directive
  local -a lines
  lines=($(command "\${COMP_WORDS[0]}" __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)) || return 0
  [ \${#lines[@]} -gt 0 ] || return 0
  directive=\${lines[\${#lines[@]}-1]}
  COMPREPLY=()
  for line in "\${lines[@]:0:\${#lines[@]}-1}"; do
    COMPREPLY+=("\${line%%$'\\t'*}")
  done
  if [ "$directive" = ":files" ]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY+=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _roost roost
`;

const ZSH = `#compdef roost
# roost completion for zsh.
# Install: roost completion zsh > "\${fpath[1]}/_roost" (any directory on $fpath; then restart zsh),
# or for this shell only: source <(roost completion zsh)
_roost() {
  local -a lines values
  local line directive
  lines=("\${(@f)$(command \${words[1]} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  (( \${#lines} )) || return 1
  directive=\${lines[-1]}
  for line in "\${(@)lines[1,-2]}"; do
    [[ -n $line ]] || continue
    if [[ $line == *$'\\t'* ]]; then
      values+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      values+=("\${line//:/\\\\:}")
    fi
  done
  (( \${#values} )) && _describe -t values roost values
  [[ $directive == :files ]] && _files
  return 0
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _roost "$@"
else
  compdef _roost roost
fi
`;

const FISH = `# roost completion for fish.
# Install: roost completion fish > ~/.config/fish/completions/roost.fish
function __roost_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l lines (command $tokens[1] __complete -- $tokens[2..-1] "$current" 2>/dev/null)
    or return 0
    test (count $lines) -gt 0; or return 0
    set -l directive $lines[-1]
    set -e lines[-1]
    for line in $lines
        echo $line
    end
    if test "$directive" = ":files"
        __fish_complete_path "$current"
    end
end
complete -c roost -f -a '(__roost_complete)'
`;

export function completionScript(shell: Shell): string {
  return { bash: BASH, zsh: ZSH, fish: FISH }[shell];
}
