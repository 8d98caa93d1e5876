#ifndef C_AVIARY_EPOLL_H
#define C_AVIARY_EPOLL_H

// Linux's epoll(7) and accept4(2), which Swift's Glibc module does not bring in, for code that
// runs its own event loop (bench/router/floor).
#include <sys/epoll.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_NONBLOCK and SOCK_CLOEXEC: the new socket, or -1 and errno.
int aviary_accept_nonblocking(int listener);

#endif
