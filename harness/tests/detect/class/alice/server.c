/* A student-style web server: reads ws.conf from the current folder ("Key value" lines, or a
 * key alone with its value on the next line), one thread per connection, one request each. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char root[512] = "www", types[64][2][64];
static int port = 8888, ntypes = 0;

static void conf(void) {
    FILE *f = fopen("ws.conf", "r");
    char line[512], key[128] = "";
    if (!f) { perror("ws.conf"); exit(1); }
    while (fgets(line, sizeof line, f)) {
        char a[256] = "", b[256] = "";
        int n = sscanf(line, "%255s %255s", a, b);
        if (n < 1 || a[0] == '#') continue;
        if (n == 1 && key[0] == 0) { strcpy(key, a); continue; }
        if (n == 1) { strcpy(b, a); strcpy(a, key); }
        key[0] = 0;
        if (!strcmp(a, "Listen")) port = atoi(b);
        else if (!strcmp(a, "DocumentRoot")) {
            char *v = b; size_t l;
            if (*v == '"') v++;
            l = strlen(v); if (l && v[l - 1] == '"') v[l - 1] = 0;
            strcpy(root, v);
        } else if (a[0] == '.' && ntypes < 64) {
            strcpy(types[ntypes][0], a); strcpy(types[ntypes++][1], b);
        }
    }
    fclose(f);
}

static void *serve(void *arg) {
    int c = (int)(long)arg, n;
    char req[4096] = "", path[1024], buf[8192];
    const char *type = "application/octet-stream", *dot;
    FILE *f;
    n = read(c, req, sizeof req - 1);
    if (n > 0 && sscanf(req, "GET %1000s", path) == 1) {
        snprintf(buf, sizeof buf, "%s%s%s", root, path, path[strlen(path) - 1] == '/' ? "index.html" : "");
        dot = strrchr(buf, '.');
        for (n = 0; dot && n < ntypes; n++) if (!strcmp(types[n][0], dot)) type = types[n][1];
        f = fopen(buf, "rb");
        if (f) {
            long len; fseek(f, 0, SEEK_END); len = ftell(f); rewind(f);
            n = snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n", type, len);
            write(c, buf, n);
            while ((n = fread(buf, 1, sizeof buf, f)) > 0) write(c, buf, n);
            fclose(f);
        } else {
            const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found";
            write(c, nf, strlen(nf));
        }
    }
    close(c);
    return NULL;
}

int main(void) {
    struct sockaddr_in a = {0};
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    conf();
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64)) { perror("bind"); return 1; }
    printf("listening on %d, root %s\n", port, root); fflush(stdout);
    for (;;) {
        pthread_t t; int c = accept(s, NULL, NULL);
        if (c >= 0 && !pthread_create(&t, NULL, serve, (void *)(long)c)) pthread_detach(t);
    }
}
