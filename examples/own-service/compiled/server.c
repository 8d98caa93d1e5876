/*
 * own-service, compiled: the same service as ../server.py, as a C program that is built once per
 * release (./build makes releases/vN/server). The release's name and its share of failures are
 * compiled in, so a new image runs new code the way a team's own binaries do.
 *
 * Listens on 127.0.0.1:$PORT. GET / answers which release runs, /healthz is the readiness probe,
 * /metrics gives Prometheus the `response_status` counter the own-service-success-rate template
 * reads. One connection at a time, HTTP/1.0 with Connection: close: enough for an example.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef RELEASE
#define RELEASE "unknown"
#endif
#ifndef FAILURE_PERCENT
#define FAILURE_PERCENT 0
#endif

static unsigned long ok_count, error_count;

static void answer(int client, int status, const char *content_type, const char *body) {
    char head[256];
    int length = snprintf(head, sizeof head,
                          "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                          status, status == 200 ? "OK" : "Internal Server Error", content_type, strlen(body));
    if (write(client, head, (size_t)length) < 0 || write(client, body, strlen(body)) < 0) {
        /* The client went away; nothing to do. */
    }
}

static void serve(int client) {
    char request[2048];
    ssize_t got = read(client, request, sizeof request - 1);
    if (got <= 0) return;
    request[got] = '\0';
    char body[512];
    if (strncmp(request, "GET /healthz ", 13) == 0) {
        answer(client, 200, "text/plain", "ok\n");
    } else if (strncmp(request, "GET /metrics ", 13) == 0) {
        snprintf(body, sizeof body,
                 "# TYPE response_status counter\nresponse_status{status=\"200\"} %lu\n"
                 "response_status{status=\"500\"} %lu\n",
                 ok_count, error_count);
        answer(client, 200, "text/plain; version=0.0.4", body);
    } else {
        int failed = rand() % 100 < FAILURE_PERCENT;
        if (failed) error_count++; else ok_count++;
        const char *image = getenv("IMAGE"), *pod = getenv("POD_NAME");
        snprintf(body, sizeof body, "own-service %s (%s) on %s, compiled\n", RELEASE, image ? image : "?",
                 pod ? pod : "?");
        answer(client, failed ? 500 : 200, "text/plain", body);
    }
}

int main(void) {
    const char *port_text = getenv("PORT");
    int port = port_text ? atoi(port_text) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "PORT must be set to a port number, got %s\n", port_text ? port_text : "nothing");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 128) != 0) {
        perror("cannot listen on 127.0.0.1:$PORT");
        return 1;
    }
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) continue;
        serve(client);
        close(client);
    }
}
