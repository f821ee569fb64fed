// webserver.c -- Bob -- CSCI 4273 PA2
// compile: gcc -pthread server.c -o server
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int PORT = 8888;
int TIMEOUT = 10;
char ROOT[256];
char INDEX[4][64];
int nindex = 0;
char EXT[50][16];
char TYPE[50][64];
int ntype = 0;
int conf_bad = 0;

void read_conf() {
    FILE *fp = fopen("ws.conf", "r");
    char line[512], a[128], b[256];
    if (fp == NULL) { printf("no ws.conf\n"); exit(1); }
    while (fgets(line, 512, fp)) {
        if (line[0] == '#') continue;
        int n = sscanf(line, "%127s %255s", a, b);
        if (n <= 0) continue;
        if (a[0] == '.') {
            if (n == 1) { conf_bad = 1; continue; }
            strcpy(EXT[ntype], a); strcpy(TYPE[ntype], b); ntype++;
        } else if (strcmp(a, "Listen") == 0) PORT = atoi(b);
        else if (strcmp(a, "DocumentRoot") == 0) strcpy(ROOT, b);
        else if (strcmp(a, "DirectoryIndex") == 0) {
            char *save, *t = strtok_r(line + 14, " \t\r\n", &save);
            while (t && nindex < 4) { strcpy(INDEX[nindex++], t); t = strtok_r(NULL, " \t\r\n", &save); }
        } else if (strcmp(a, "Keep-Alive") == 0) sscanf(line, "Keep-Alive time %d", &TIMEOUT);
    }
    fclose(fp);
}

// every line of our response ends with \n
void reply(int sock, int code, char *msg, char *reason, int alive) {
    char body[300], out[600];
    sprintf(body, "<html><body>%d %s Reason: %s</body></html>\n", code, msg, reason);
    sprintf(out, "HTTP/1.1 %d %s\nContent-Type: text/html\nContent-Length: %zu\nConnection: %s\n\n%s",
            code, msg, strlen(body), alive ? "keep-alive" : "close", body);
    send(sock, out, strlen(out), MSG_NOSIGNAL);
}

char *get_type(char *path) {
    char *dot = strrchr(path, '.');
    if (dot == NULL || strchr(dot, '/')) return NULL;
    for (int i = 0; i < ntype; i++)
        if (strcmp(dot, EXT[i]) == 0) return TYPE[i];
    return NULL;
}

int valid_method(char *m) {
    char *all[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    for (int i = 0; i < 9; i++) if (strcmp(m, all[i]) == 0) return 1;
    return 0;
}

// returns 1 if the connection stays open
int handle(int sock, char *req) {
    char method[64] = "", url[1024] = "", ver[64] = "", path[2048];
    sscanf(req, "%63s %1023s %63s", method, url, ver);
    int alive = 0;
    char *c = strcasestr(req, "\nConnection:");
    if (c && strncasecmp(c + 12 + strspn(c + 12, " "), "keep-alive", 10) == 0) alive = 1;
    if (!valid_method(method)) { reply(sock, 400, "Bad Request", "Invalid Method", 0); return 0; }
    if (url[0] != '/') { reply(sock, 400, "Bad Request", "Invalid URL", 0); return 0; }
    if (strcmp(ver, "HTTP/1.1") != 0 && strcmp(ver, "HTTP/1.0") != 0) {
        reply(sock, 400, "Bad Request", "Invalid HTTP-Version", 0); return 0;
    }
    if (conf_bad) { reply(sock, 500, "Internal Server Error", "cannot allocate memory", 0); return 0; }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        reply(sock, 501, "Not Implemented", method, alive); return alive;
    }
    if (strstr(url, "..") != NULL) { reply(sock, 403, "Forbidden", "no", alive); return alive; }
    struct stat st;
    sprintf(path, "%s%s", ROOT, url);
    if (url[strlen(url) - 1] == '/') {
        int i;
        for (i = 0; i < nindex; i++) {
            sprintf(path, "%s%s%s", ROOT, url, INDEX[i]);
            if (stat(path, &st) == 0) break;
        }
        if (i == nindex) { reply(sock, 404, "Not Found", "URL does not exist", alive); return alive; }
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL || stat(path, &st) != 0 || S_ISDIR(st.st_mode)) {
        if (f) fclose(f);
        reply(sock, 404, "Not Found", "URL does not exist", alive); return alive;
    }
    char *type = get_type(path);
    if (type == NULL) { fclose(f); reply(sock, 501, "Not Implemented", "File type not supported", alive); return alive; }
    char head[512];
    sprintf(head, "HTTP/1.1 200 OK\nContent-Type: %s\nContent-Length: %ld\nConnection: %s\n\n",
            type, (long)st.st_size, alive ? "keep-alive" : "close");
    send(sock, head, strlen(head), MSG_NOSIGNAL);
    if (strcmp(method, "GET") == 0) {
        char data[8192];
        size_t n;
        while ((n = fread(data, 1, sizeof(data), f)) > 0) {
            size_t off = 0;
            while (off < n) {
                ssize_t w = send(sock, data + off, n - off, MSG_NOSIGNAL);
                if (w <= 0) { fclose(f); return 0; }
                off += w;
            }
        }
    }
    fclose(f);
    return alive;
}

void *worker(void *arg) {
    int sock = (int)(long)arg;
    char buf[8192];
    int len = 0, alive = 1;
    struct timeval tv = {TIMEOUT, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (alive) {
        char *end = NULL;
        // read until the empty line (\r\n\r\n, or \n\n like the handout's test requests)
        while (1) {
            buf[len] = 0;
            char *e1 = strstr(buf, "\r\n\r\n"), *e2 = strstr(buf, "\n\n");
            if (e1 && (!e2 || e1 < e2)) { end = e1 + 4; break; }
            if (e2) { end = e2 + 2; break; }
            if (len >= (int)sizeof(buf) - 1) break;
            int n = recv(sock, buf + len, sizeof(buf) - 1 - len, 0);
            if (n <= 0) break;
            len += n;
        }
        if (end == NULL) break;
        char req[8192];
        int hlen = end - buf;
        memcpy(req, buf, hlen);
        req[hlen] = 0;
        memmove(buf, end, len - hlen);
        len -= hlen;
        alive = handle(sock, req);
    }
    close(sock);
    return NULL;
}

int main() {
    signal(SIGPIPE, SIG_IGN);
    read_conf();
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(PORT);
    if (bind(server, (struct sockaddr *)&addr, sizeof(addr)) < 0) { perror("bind"); exit(1); }
    listen(server, 50);
    printf("Server running on port %d\n", PORT);
    fflush(stdout);
    while (1) {
        int client = accept(server, NULL, NULL);
        if (client < 0) continue;
        pthread_t tid;
        pthread_create(&tid, NULL, worker, (void *)(long)client);
        pthread_detach(tid);
    }
    return 0;
}
