#define _GNU_SOURCE
#include "CAviaryEpoll.h"

int aviary_accept_nonblocking(int listener) { return accept4(listener, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }
