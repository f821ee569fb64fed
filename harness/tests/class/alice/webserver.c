/* PA2: multi-threaded web server (Alice L.)
 * Reads ws.conf from the current folder; one thread per connection; keep-alive with
 * KeepaliveTime; pipelined requests are answered in order. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFSZ 16384
#define MAXTYPES 64

static int port = 8888, keepalive = 10, config_error = 0;
static char docroot[512] = "www";
static char indexes[8][64];
static int nindex = 0;
static char exts[MAXTYPES][16], types[MAXTYPES][64];
static int ntypes = 0;
static char methods[256] = "GET HEAD";
static const char *known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH", NULL};

static void load_config(const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) { perror(file); exit(1); }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '#' || *p == 0) continue;
        if (*p == '.') {
            if (ntypes < MAXTYPES && sscanf(p, "%15s %63s", exts[ntypes], types[ntypes]) == 2) ntypes++;
            else config_error = 1; /* a type line with no type */
        } else if (!strncmp(p, "Listen", 6)) {
            port = atoi(p + 6);
        } else if (!strncmp(p, "DocumentRoot", 12)) {
            p += 12;
            while (isspace((unsigned char)*p) || *p == '"') p++;
            snprintf(docroot, sizeof docroot, "%s", p);
            char *q = strchr(docroot, '"');
            if (q) *q = 0;
        } else if (!strncmp(p, "DirectoryIndex", 14)) {
            for (char *t = strtok(p + 14, " \t"); t && nindex < 8; t = strtok(NULL, " \t"))
                snprintf(indexes[nindex++], 64, "%s", t);
        } else if (!strncmp(p, "KeepaliveTime", 13)) {
            keepalive = atoi(p + 13);
        } else if (!strncmp(p, "RequestMethodSupport", 20)) {
            snprintf(methods, sizeof methods, " %s ", p + 20);
        }
    }
    fclose(f);
    if (nindex == 0) strcpy(indexes[nindex++], "index.html");
}

static int send_all(int fd, const char *b, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        b += w; n -= (size_t)w;
    }
    return 0;
}

static void send_error(int fd, int code, const char *status, const char *reason, int keep) {
    char body[512], head[512];
    int bl = snprintf(body, sizeof body, "<html><body><h1>%d %s</h1><p>Reason: %s</p></body></html>\n",
                      code, status, reason);
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                      "Connection: %s\r\n\r\n", code, status, bl, keep ? "keep-alive" : "close");
    send_all(fd, head, hl);
    send_all(fd, body, bl);
}

static const char *type_of(const char *path) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return NULL;
    for (int i = 0; i < ntypes; i++)
        if (!strcasecmp(exts[i], dot)) return types[i];
    return NULL;
}

/* Answers one request; returns 1 to keep the connection open. */
static int answer(int fd, char *head) {
    char method[32] = "", url[2048] = "", version[32] = "";
    char *eol = strchr(head, '\n');
    if (eol) *eol = 0;
    sscanf(head, "%31s %2047s %31s", method, url, version);
    char *rest = eol ? eol + 1 : "";
    int keep = 0;
    int is_known = 0;
    for (int i = 0; known[i]; i++) if (!strcmp(method, known[i])) is_known = 1;
    if (!is_known) { send_error(fd, 400, "Bad Request", "Invalid Method", 0); return 0; }
    if (url[0] != '/') { send_error(fd, 400, "Bad Request", "Invalid URL", 0); return 0; }
    if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) {
        send_error(fd, 400, "Bad Request", "Invalid HTTP-Version", 0); return 0;
    }
    keep = !strcmp(version, "HTTP/1.1");
    char *save = NULL;
    for (char *l = strtok_r(rest, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (!strncasecmp(l, "Connection:", 11)) {
            if (strcasestr(l + 11, "keep-alive")) keep = 1;
            else if (strcasestr(l + 11, "close")) keep = 0;
        }
    }
    if (config_error) { send_error(fd, 500, "Internal Server Error", "cannot allocate memory", 0); return 0; }
    char m[40];
    snprintf(m, sizeof m, " %s ", method);
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) { send_error(fd, 501, "Not Implemented", method, keep); return keep; }
    if (!strstr(methods, m)) { send_error(fd, 501, "Not Implemented", method, keep); return keep; }
    char *q = strchr(url, '?');
    if (q) *q = 0;
    if (strstr(url, "..")) { send_error(fd, 403, "Forbidden", "Forbidden", keep); return keep; }
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", docroot, url);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int found = 0;
        for (int i = 0; i < nindex && !found; i++) {
            snprintf(path, sizeof path, "%s%s%s%s", docroot, url, url[strlen(url) - 1] == '/' ? "" : "/", indexes[i]);
            found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        }
        if (!found) { send_error(fd, 404, "Not Found", "URL does not exist", keep); return keep; }
    } else if (stat(path, &st) != 0) {
        send_error(fd, 404, "Not Found", "URL does not exist", keep); return keep;
    }
    const char *type = type_of(path);
    if (!type) { send_error(fd, 501, "Not Implemented", "File type not supported", keep); return keep; }
    int file = open(path, O_RDONLY);
    if (file < 0) { send_error(fd, 403, "Forbidden", "Forbidden", keep); return keep; }
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\nConnection: %s\r\n\r\n",
                      type, (long long)st.st_size, keep ? "keep-alive" : "close");
    int ok = send_all(fd, hdr, hl) == 0;
    if (ok && !strcmp(method, "GET")) {
        char chunk[16384];
        ssize_t r;
        while (ok && (r = read(file, chunk, sizeof chunk)) > 0) ok = send_all(fd, chunk, r) == 0;
    }
    close(file);
    return keep && ok;
}

/* Offset just past the end of the head in b[0..n), or 0. Accepts \r\n\r\n and \n\n. */
static size_t head_end(const char *b, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] == '\n' && b[i + 1] == '\n') return i + 2;
        if (i + 3 < n && !memcmp(b + i, "\r\n\r\n", 4)) return i + 4;
    }
    return 0;
}

static void *client(void *arg) {
    int fd = *(int *)arg;
    free(arg);
    char *buf = malloc(BUFSZ + 1);
    size_t len = 0;
    int keep = 1;
    while (keep && buf) {
        size_t end;
        while ((end = head_end(buf, len)) == 0) {
            struct pollfd p = {fd, POLLIN, 0};
            int wait = len == 0 ? keepalive * 1000 : 10000;
            if (len >= BUFSZ || poll(&p, 1, wait) <= 0) goto done;
            ssize_t r = recv(fd, buf + len, BUFSZ - len, 0);
            if (r <= 0) goto done;
            len += (size_t)r;
        }
        char head[BUFSZ + 1];
        memcpy(head, buf, end);
        head[end] = 0;
        memmove(buf, buf + end, len - end);
        len -= end;
        keep = answer(fd, head);
    }
done:
    free(buf);
    close(fd);
    return NULL;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    load_config("ws.conf");
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) { perror("bind"); return 1; }
    printf("listening on port %d, root %s, keep-alive %ds\n", port, docroot, keepalive);
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        int *arg = malloc(sizeof(int));
        *arg = c;
        pthread_t t;
        if (pthread_create(&t, NULL, client, arg) == 0) pthread_detach(t);
        else { close(c); free(arg); }
    }
}
