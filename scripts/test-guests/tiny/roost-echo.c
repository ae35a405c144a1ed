/*
 * roost-echo: TCP and UDP echo server (RFC 862) for the roost tiny test guest.
 *
 * Debian's busybox-static has no udpsvd/tcpsvd and its nc cannot do UDP, so this small program
 * is compiled statically at build time and put in the initramfs. It listens on one port (default 7)
 * for both TCP and UDP, dual-stack where IPv6 is available, forks one child per TCP connection and
 * answers every UDP datagram to its sender.
 *
 * Usage: roost-echo [PORT]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int type, int port)
{
    int one = 1, zero = 0;
    int fd = socket(AF_INET6, type, 0);
    if (fd >= 0) {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        a6.sin6_addr = in6addr_any;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0)
            goto bound;
        close(fd);
    }
    /* No IPv6: plain IPv4. */
    fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(port);
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) {
        close(fd);
        return -1;
    }
bound:
    if (type == SOCK_STREAM && listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void serve_tcp_client(int fd)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(0);
            off += w;
        }
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7;
    /* Children are never waited for: let the kernel reap them. */
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    int tcp = listen_on(SOCK_STREAM, port);
    int udp = listen_on(SOCK_DGRAM, port);
    if (tcp < 0 || udp < 0) {
        fprintf(stderr, "roost-echo: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }

    struct pollfd fds[2] = {{.fd = tcp, .events = POLLIN}, {.fd = udp, .events = POLLIN}};
    char buf[65536];
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (fds[0].revents & POLLIN) {
            int c = accept(tcp, NULL, NULL);
            if (c >= 0) {
                pid_t pid = fork();
                if (pid == 0) {
                    close(tcp);
                    close(udp);
                    serve_tcp_client(c);
                }
                close(c);
            }
        }
        if (fds[1].revents & POLLIN) {
            struct sockaddr_storage from;
            socklen_t fromlen = sizeof from;
            ssize_t n = recvfrom(udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
            if (n >= 0)
                sendto(udp, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
        }
    }
}
