/* Frank -- PA2 HTTP server, pthreads */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define MAX 8192

struct method_info { const char *name; int allowed; };
struct method_info METHOD_TABLE[] = {
    {"GET", 1}, {"HEAD", 1}, {"POST", 0}, {"PUT", 0}, {"DELETE", 0},
    {"OPTIONS", 0}, {"TRACE", 0}, {"CONNECT", 0}, {"PATCH", 0}, {NULL, 0}};

struct { int port; int timeout; char root[512]; char index[4][64]; int nindex;
         char ext[40][16]; char type[40][64]; int ntypes; int broken; } cfg;

/* settings are found by looking for their name anywhere in the line */
void load_cfg(void) {
    FILE *f = fopen("ws.conf", "r");
    char line[1024];
    if (!f) { fprintf(stderr, "cannot open ws.conf\n"); exit(1); }
    while (fgets(line, sizeof line, f)) {
        char *p;
        if (line[0] == '#') continue;
        if ((p = strstr(line, "Listen"))) cfg.port = atoi(p + 7);
        else if ((p = strstr(line, "DocumentRoot"))) {
            char *a = strchr(p, '"'), *b = a ? strchr(a + 1, '"') : NULL;
            if (a && b) { *b = 0; strcpy(cfg.root, a + 1); }
            else sscanf(p + 12, "%511s", cfg.root);
        } else if ((p = strstr(line, "DirectoryIndex"))) {
            char *save, *t = strtok_r(p + 14, " \t\r\n", &save);
            for (; t && cfg.nindex < 4; t = strtok_r(NULL, " \t\r\n", &save)) strcpy(cfg.index[cfg.nindex++], t);
        } else if ((p = strstr(line, "KeepaliveTime"))) cfg.timeout = atoi(p + 13);
        else if ((p = strchr(line, '.')) && cfg.ntypes < 40) {
            if (sscanf(p, "%15s %63s", cfg.ext[cfg.ntypes], cfg.type[cfg.ntypes]) == 2) cfg.ntypes++;
            else cfg.broken = 1;
        }
    }
    fclose(f);
}

struct method_info *lookup_method(const char *m) {
    for (int i = 0; METHOD_TABLE[i].name; i++)
        if (strcmp(METHOD_TABLE[i].name, m) == 0) return &METHOD_TABLE[i];
    return NULL;
}

void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w; n -= w;
    }
}

void http_error(int fd, int code, const char *text, const char *reason, int keep) {
    char body[256], hdr[256];
    int bl = snprintf(body, sizeof body, "<html><body><h2>%d %s</h2>Reason: %s</body></html>", code, text, reason);
    int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
                      code, text, bl, keep ? "keep-alive" : "close");
    write_all(fd, hdr, hl);
    write_all(fd, body, bl);
}

int process(int fd, char *req) {
    char method[32] = {0}, uri[2048] = {0}, version[32] = {0}, path[4096];
    sscanf(req, "%31s %2047s %31s", method, uri, version);
    char *c = strcasestr(req, "\nConnection:");
    int keep = c && strncasecmp(c + 13, "keep-alive", 10) == 0;

    struct method_info *mi = lookup_method(method);
    if (!mi->allowed) { http_error(fd, 501, "Not Implemented", method, keep); return keep; }
    if (mi == NULL) { http_error(fd, 400, "Bad Request", "Invalid Method", 0); return 0; }
    if (uri[0] != '/') { http_error(fd, 400, "Bad Request", "Invalid URL", 0); return 0; }
    if (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1") != 0) {
        http_error(fd, 400, "Bad Request", "Invalid HTTP-Version", 0); return 0;
    }
    if (cfg.broken) { http_error(fd, 500, "Internal Server Error", "cannot allocate memory", 0); return 0; }
    if (strstr(uri, "..")) { http_error(fd, 403, "Forbidden", "Forbidden", keep); return keep; }

    struct stat st;
    snprintf(path, sizeof path, "%s%s", cfg.root, uri);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int i, n = strlen(path);
        for (i = 0; i < cfg.nindex; i++) {
            snprintf(path + n, sizeof path - n, "%s%s", uri[strlen(uri) - 1] == '/' ? "" : "/", cfg.index[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) break;
        }
        if (i == cfg.nindex) { http_error(fd, 404, "Not Found", "URL does not exist", keep); return keep; }
    }
    FILE *fp = fopen(path, "rb");
    if (!fp || stat(path, &st) < 0) {
        if (fp) fclose(fp);
        http_error(fd, 404, "Not Found", "URL does not exist", keep);
        return keep;
    }
    const char *type = NULL, *dot = strrchr(path, '.');
    for (int i = 0; dot && i < cfg.ntypes; i++)
        if (strcmp(cfg.ext[i], dot) == 0) type = cfg.type[i];
    if (type == NULL) { fclose(fp); http_error(fd, 501, "Not Implemented", "File type not supported", keep); return keep; }

    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: %s\r\n\r\n",
                      type, (long)st.st_size, keep ? "keep-alive" : "close");
    write_all(fd, hdr, hl);
    if (strcmp(method, "GET") == 0) {
        char buf[MAX];
        size_t n;
        while ((n = fread(buf, 1, MAX, fp)) > 0) write_all(fd, buf, n);
    }
    fclose(fp);
    return keep;
}

void *handle_client(void *arg) {
    int fd = *(int *)arg;
    free(arg);
    char buf[MAX + 1];
    size_t have = 0;
    int keep = 1;
    while (keep) {
        char *end;
        buf[have] = 0;
        while (!(end = strstr(buf, "\r\n\r\n")) && !(end = strstr(buf, "\n\n"))) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (have == MAX || poll(&pfd, 1, cfg.timeout * 1000) <= 0) goto out;
            ssize_t n = recv(fd, buf + have, MAX - have, 0);
            if (n <= 0) goto out;
            have += n;
            buf[have] = 0;
        }
        end += end[0] == '\r' ? 4 : 2;
        size_t len = end - buf;
        char req[MAX + 1];
        memcpy(req, buf, len);
        req[len] = 0;
        memmove(buf, end, have - len);
        have -= len;
        keep = process(fd, req);
    }
out:
    close(fd);
    return NULL;
}

int main(void) {
    load_cfg();
    signal(SIGPIPE, SIG_IGN);
    int sfd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(sfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(sfd, (struct sockaddr *)&sa, sizeof sa) || listen(sfd, 32)) { perror("bind/listen"); return 1; }
    printf("HTTP server on port %d\n", cfg.port);
    fflush(stdout);
    for (;;) {
        int *cfd = malloc(sizeof(int));
        *cfd = accept(sfd, NULL, NULL);
        if (*cfd < 0) { free(cfd); continue; }
        pthread_t th;
        pthread_create(&th, NULL, handle_client, cfd);
        pthread_detach(th);
    }
}
