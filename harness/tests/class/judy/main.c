/* Judy -- PA2 web server (pthreads). Usage: ./ws  (reads ./ws.conf) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define BUF 8192

typedef struct { char method[32]; char uri[2048]; char version[32]; int keep_alive; } request_t;

static struct {
    int port, keepalive, ntypes, nindex, error;
    char root[1024];
    char index[4][64];
    char ext[40][16], mime[40][64];
} conf;

static void read_ws_conf(void) {
    FILE *f = fopen("ws.conf", "r");
    char line[1024], k[64], v[1024];
    if (f == NULL) { fprintf(stderr, "ws.conf not found\n"); exit(1); }
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        int n = sscanf(line, "%63s %1023s", k, v);
        if (n < 1) continue;
        if (k[0] == '.') {
            if (n < 2) conf.error = 1;
            else if (conf.ntypes < 40) { strcpy(conf.ext[conf.ntypes], k); strcpy(conf.mime[conf.ntypes], v); conf.ntypes++; }
        } else if (!strcmp(k, "Listen")) conf.port = atoi(v);
        else if (!strcmp(k, "DocumentRoot")) {
            char *s = v + (v[0] == '"'), *e = strchr(s, '"');
            if (e) *e = 0;
            strcpy(conf.root, s);
        } else if (!strcmp(k, "DirectoryIndex")) {
            char *p = line + strlen("DirectoryIndex");
            int off;
            while (conf.nindex < 4 && sscanf(p, "%63s%n", conf.index[conf.nindex], &off) == 1) { conf.nindex++; p += off; }
        } else if (!strcmp(k, "KeepaliveTime")) conf.keepalive = atoi(v);
    }
    fclose(f);
}

static int write_n(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w; n -= w;
    }
    return 0;
}

static void error_page(int fd, const char *status, const char *reason, int keep) {
    char body[512], head[512];
    int bl = snprintf(body, sizeof body, "<html><body><h1>%s</h1><p>%s</p></body></html>\r\n", status, reason);
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
                      status, bl, keep ? "Keep-Alive" : "Close");
    write_n(fd, head, hl);
    write_n(fd, body, bl);
}

static const char *mime_of(const char *path) {
    const char *dot = strrchr(path, '.');
    for (int i = 0; dot && i < conf.ntypes; i++)
        if (!strcmp(dot, conf.ext[i])) return conf.mime[i];
    return NULL;
}

static int parse(char *raw, request_t *r) {
    static const char *methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH", 0};
    if (sscanf(raw, "%31s %2047s %31s", r->method, r->uri, r->version) != 3) return 1;
    int ok = 0;
    for (int i = 0; methods[i]; i++) ok |= !strcmp(methods[i], r->method);
    if (!ok) return 1;
    if (r->uri[0] != '/') return 2;
    if (strcmp(r->version, "HTTP/1.1") && strcmp(r->version, "HTTP/1.0")) return 3;
    r->keep_alive = !strcmp(r->version, "HTTP/1.1");
    if (strstr(raw, "Connection: close")) r->keep_alive = 0;
    if (strstr(raw, "Connection: keep-alive") || strstr(raw, "Connection: Keep-Alive")) r->keep_alive = 1;
    return 0;
}

static int serve(int fd, char *raw) {
    request_t r = {0};
    int bad = parse(raw, &r);
    if (bad == 1) { error_page(fd, "400 Bad Request", "Invalid Method", 0); return 0; }
    if (bad == 2) { error_page(fd, "400 Bad Request", "Invalid URL", 0); return 0; }
    if (bad == 3) { error_page(fd, "400 Bad Request", "Invalid HTTP-Version", 0); return 0; }
    if (conf.error) { error_page(fd, "500 Internal Server Error", "cannot allocate memory", 0); return 0; }
    if (strcmp(r.method, "GET") && strcmp(r.method, "HEAD")) { error_page(fd, "501 Not Implemented", r.method, r.keep_alive); return r.keep_alive; }
    if (strstr(r.uri, "..")) { error_page(fd, "403 Forbidden", "Forbidden", r.keep_alive); return r.keep_alive; }

    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", conf.root, r.uri);
    if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
        size_t base = strlen(path);
        int i;
        for (i = 0; i < conf.nindex; i++) {
            snprintf(path + base, sizeof path - base, "%s%s", path[base - 1] == '/' ? "" : "/", conf.index[i]);
            if (!stat(path, &st) && S_ISREG(st.st_mode)) break;
        }
        if (i == conf.nindex) { error_page(fd, "404 Not Found", "URL does not exist", r.keep_alive); return r.keep_alive; }
    }
    FILE *f = fopen(path, "rb");
    if (!f || stat(path, &st)) {
        if (f) fclose(f);
        error_page(fd, "404 Not Found", "URL does not exist", r.keep_alive);
        return r.keep_alive;
    }
    const char *mime = mime_of(path);
    if (!mime) { fclose(f); error_page(fd, "501 Not Implemented", "File type not supported", r.keep_alive); return r.keep_alive; }
    char head[512];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\nConnection: %s\r\n\r\n",
                      mime, (long long)st.st_size, r.keep_alive ? "Keep-Alive" : "Close");
    int ok = write_n(fd, head, hl) == 0;
    if (ok && !strcmp(r.method, "GET")) {
        char chunk[BUF];
        size_t n;
        while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) ok = write_n(fd, chunk, n) == 0;
    }
    fclose(f);
    return ok && r.keep_alive;
}

static void *connection(void *p) {
    int fd = (int)(long)p;
    char buf[BUF + 1];
    size_t used = 0;
    struct timeval tv = {conf.keepalive, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        char *end;
        buf[used] = 0;
        while (!(end = strstr(buf, "\r\n\r\n")) && !(end = strstr(buf, "\n\n"))) {
            if (used == BUF) goto done;
            ssize_t n = recv(fd, buf + used, BUF - used, 0);
            if (n <= 0) goto done;
            used += n;
            buf[used] = 0;
        }
        end += end[0] == '\r' ? 4 : 2;
        char req[BUF + 1];
        size_t len = end - buf;
        memcpy(req, buf, len);
        req[len] = 0;
        memmove(buf, end, used - len);
        used -= len;
        if (!serve(fd, req)) break;
    }
done:
    close(fd);
    return NULL;
}

int main(void) {
    read_ws_conf();
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(conf.port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(s, 64) < 0) { perror("socket"); return 1; }
    printf("ws: port %d, root %s\n", conf.port, conf.root);
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, connection, (void *)(long)c)) close(c);
        else pthread_detach(t);
    }
}
