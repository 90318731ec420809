/* Kiosks scanning codes as fast as a server answers: the check-in load of bench/cluster.py.

   In C, as load generators are: the client shares the machine's two cores with the
   servers it measures, and every microsecond it spends is one they do not get (this
   loop in Python cost 0.07 to 0.08 ms of CPU per check-in; here, a few microseconds
   besides the system calls every client makes).

   usage: burst PORT TOKEN SOURCES_FILE CODES_FILE
     SOURCES_FILE: one kiosk per line, the loopback address it connects from
     CODES_FILE:   one code per line, the queue every kiosk takes its next scan from
   prints one JSON line: {"rate": check-ins per second while every kiosk was busy,
                          "answered": {"<X-Kiosk-Process>": count, ...}}
   exits 1 with a message on stderr on any answer that is not a check-in.

   Each kiosk: a keep-alive connection (a new one after an answer saying Connection: close,
   as nginx's keepalive_requests does; any other close fails the run), one request
   at a time, the next code of the queue as soon as its answer comes. The rate counts
   from the first request to the moment the queue is empty; the last answers, one per
   kiosk, are then awaited but not timed (a round's tail would measure the last kiosks,
   not the server). bench/common.py `checkin_burst` builds and runs it. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

struct kiosk {
    int fd;
    char source[64];
    char head[512];
    int head_len;
    char buf[BUF];
    int len;
    long answered;
    char process[64];
};

static int port;
static int epfd;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "burst: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, f) != (size_t)size) die("cannot read", path);
    text[size] = 0;
    fclose(f);
    return text;
}

static int lines(char *text, char ***out) {
    int n = 0, cap = 1024;
    char **v = malloc(cap * sizeof *v);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line) continue;
        if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = line;
    }
    *out = v;
    return n;
}

static void connect_kiosk(struct kiosk *k) {
    if (k->fd >= 0) close(k->fd); /* closing also takes it out of the epoll set */
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (k->fd < 0) die("socket", strerror(errno));
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in from = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, k->source, &from.sin_addr) != 1) die("not an IPv4 address", k->source);
    if (bind(k->fd, (struct sockaddr *)&from, sizeof from) < 0) die("bind", k->source);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(k->fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, k->fd, &ev) < 0) die("epoll_ctl", strerror(errno));
    k->len = 0;
}

static void send_all(struct kiosk *k, const char *body) {
    char request[1024];
    int n = snprintf(request, sizeof request, "%.*sContent-Length: %zu\r\n\r\n%s", k->head_len,
                     k->head, strlen(body), body);
    if (n >= (int)sizeof request) die("request too long", body);
    for (int sent = 0; sent < n;) {
        ssize_t w = send(k->fd, request + sent, n - sent, MSG_NOSIGNAL);
        if (w < 0) die("send", strerror(errno));
        sent += w;
    }
}

/* A header's value in an answer's head, case-insensitively; "" if absent. */
static void header(const char *head, int head_len, const char *name, char *out, int size) {
    int name_len = strlen(name);
    out[0] = 0;
    for (const char *p = head; p + name_len + 3 <= head + head_len; p++) {
        if (p[0] == '\r' && p[1] == '\n' && strncasecmp(p + 2, name, name_len) == 0 &&
            p[2 + name_len] == ':') {
            const char *v = p + 3 + name_len;
            while (*v == ' ') v++;
            int n = 0;
            while (v + n < head + head_len && v[n] != '\r' && n < size - 1) n++;
            memcpy(out, v, n);
            out[n] = 0;
            return;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 5) die("usage: burst PORT TOKEN SOURCES_FILE CODES_FILE", NULL);
    port = atoi(argv[1]);
    char **sources, **codes;
    int nsources = lines(slurp(argv[3]), &sources);
    int ncodes = lines(slurp(argv[4]), &codes);
    if (ncodes == 0 || nsources == 0) die("no code or no kiosk", NULL);
    /* the requests' bodies, built before the clock starts */
    char **bodies = malloc(ncodes * sizeof *bodies);
    for (int i = 0; i < ncodes; i++) {
        if (asprintf(&bodies[i], "{\"code\": \"%s\"}", codes[i]) < 0) die("memory", NULL);
    }
    int nkiosks = nsources < ncodes ? nsources : ncodes;
    struct kiosk *kiosks = calloc(nkiosks, sizeof *kiosks);
    epfd = epoll_create1(0);
    for (int i = 0; i < nkiosks; i++) {
        struct kiosk *k = &kiosks[i];
        k->fd = -1;
        snprintf(k->source, sizeof k->source, "%s", sources[i]);
        k->head_len = snprintf(k->head, sizeof k->head,
                               "POST /api/checkin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                               "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
                               "X-Kiosk-Device: kiosk %d\r\n",
                               port, argv[2], i + 1);
        connect_kiosk(k);
    }
    int next = 0, busy = nkiosks;
    long done = 0;
    double rate = -1, start = now();
    for (int i = 0; i < nkiosks; i++) send_all(&kiosks[i], bodies[next++]);
    struct epoll_event events[256];
    while (busy) {
        int n = epoll_wait(epfd, events, 256, 30000);
        if (n == 0) die("no answer in 30 s", NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait", strerror(errno));
        }
        for (int e = 0; e < n; e++) {
            struct kiosk *k = events[e].data.ptr;
            ssize_t r = recv(k->fd, k->buf + k->len, BUF - 1 - k->len, 0);
            if (r <= 0) die("connection closed before an answer", k->source);
            k->len += r;
            k->buf[k->len] = 0;
            char *end = strstr(k->buf, "\r\n\r\n");
            if (!end) continue;
            int head_len = end - k->buf;
            char value[64];
            header(k->buf, head_len, "content-length", value, sizeof value);
            int length = atoi(value);
            if (k->len < head_len + 4 + length) continue;
            char *body = end + 4;
            char saved = body[length];
            body[length] = 0;
            if (!strstr(body, "\"checked_in\"")) {
                fprintf(stderr, "burst: %s: %.200s\n", k->source, k->buf);
                exit(1);
            }
            body[length] = saved;
            done++;
            k->answered++;
            if (!k->process[0]) { /* nginx sends an address to one process */
                header(k->buf, head_len, "x-kiosk-process", k->process, sizeof k->process);
                if (!k->process[0]) strcpy(k->process, "-");
            }
            char connection[32];
            header(k->buf, head_len, "connection", connection, sizeof connection);
            int consumed = head_len + 4 + length;
            memmove(k->buf, k->buf + consumed, k->len - consumed);
            k->len -= consumed;
            if (next == ncodes) {
                if (rate < 0) rate = done / (now() - start); /* fewer kiosks at work now */
                busy--;
                close(k->fd); /* its connection's end is not the others' business */
                k->fd = -1;
                continue;
            }
            if (strcasecmp(connection, "close") == 0) connect_kiosk(k); /* keepalive_requests */
            send_all(k, bodies[next++]);
        }
    }
    printf("{\"rate\": %.3f, \"answered\": {", rate);
    for (int i = 0, first = 1; i < nkiosks; i++) {
        int seen = 0; /* each process once, with its kiosks' answers summed */
        for (int j = 0; j < i; j++) seen |= strcmp(kiosks[j].process, kiosks[i].process) == 0;
        if (seen) continue;
        long sum = 0;
        for (int j = i; j < nkiosks; j++)
            if (strcmp(kiosks[j].process, kiosks[i].process) == 0) sum += kiosks[j].answered;
        printf("%s\"%s\": %ld", first ? "" : ", ", kiosks[i].process, sum);
        first = 0;
    }
    printf("}}\n");
    return 0;
}
