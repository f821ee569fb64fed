/* Ken -- PA2 web server
 * gcc server.c -o server
 * accept a client, read its request, send the answer, close, next client */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define SIZE 4096

int port = 8888, timeout_sec = 10, ntypes = 0, nindex = 0, conf_err = 0;
char root[SIZE], index_name[5][64], ext[40][16], ctype[40][64];

void config(void) {
    char line[SIZE], a[SIZE], b[SIZE];
    FILE *f = fopen("ws.conf", "r");
    if (!f) { printf("ws.conf missing\n"); exit(1); }
    while (fgets(line, SIZE, f)) {
        if (line[0] == '#') continue;
        int n = sscanf(line, "%s %s", a, b);
        if (n < 1) continue;
        if (a[0] == '.') {
            if (n == 1) conf_err = 1;
            else if (ntypes < 40) { strncpy(ext[ntypes], a, 15); strncpy(ctype[ntypes], b, 63); ntypes++; }
        }
        if (strcmp(a, "Listen") == 0) port = atoi(b);
        if (strcmp(a, "DocumentRoot") == 0) {
            char *s = b;
            if (*s == '"') s++;
            if (s[strlen(s) - 1] == '"') s[strlen(s) - 1] = 0;
            strcpy(root, s);
        }
        if (strcmp(a, "DirectoryIndex") == 0) {
            char *t = strtok(line, " \t\r\n");
            while ((t = strtok(NULL, " \t\r\n")) && nindex < 5) strncpy(index_name[nindex++], t, 63);
        }
        if (strcmp(a, "KeepaliveTime") == 0) timeout_sec = atoi(b);
    }
    fclose(f);
}

void send_msg(int c, char *status, char *reason) {
    char body[SIZE], msg[2 * SIZE];
    sprintf(body, "<html><body>%s<br>Reason: %s</body></html>", status, reason);
    sprintf(msg, "HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
            status, (int)strlen(body), body);
    send(c, msg, strlen(msg), MSG_NOSIGNAL);
}

int valid(char *m) {
    char *v[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    for (int i = 0; i < 9; i++) if (strcmp(v[i], m) == 0) return 1;
    return 0;
}

void do_request(int c, char *req) {
    char method[SIZE] = "", url[SIZE] = "", version[SIZE] = "", path[3 * SIZE];
    sscanf(req, "%s %s %s", method, url, version);
    if (!valid(method)) return send_msg(c, "400 Bad Request", "Invalid Method");
    if (url[0] != '/') return send_msg(c, "400 Bad Request", "Invalid URL");
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)
        return send_msg(c, "400 Bad Request", "Invalid HTTP-Version");
    if (conf_err) return send_msg(c, "500 Internal Server Error", "cannot allocate memory");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return send_msg(c, "501 Not Implemented", method);
    if (strstr(url, "..")) return send_msg(c, "403 Forbidden", "Forbidden");
    struct stat st;
    sprintf(path, "%s%s", root, url);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int i;
        for (i = 0; i < nindex; i++) {
            sprintf(path, "%s%s/%s", root, url, index_name[i]);
            if (stat(path, &st) == 0) break;
        }
        if (i == nindex) return send_msg(c, "404 Not Found", "URL does not exist");
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) return send_msg(c, "404 Not Found", "URL does not exist");
    stat(path, &st);
    char *dot = strrchr(path, '.'), *type = NULL;
    for (int i = 0; dot && i < ntypes; i++) if (strcmp(dot, ext[i]) == 0) type = ctype[i];
    if (type == NULL) { fclose(f); return send_msg(c, "501 Not Implemented", "File type not supported"); }
    char header[SIZE];
    sprintf(header, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n", type, (long)st.st_size);
    send(c, header, strlen(header), MSG_NOSIGNAL);
    if (strcmp(method, "GET") == 0) {
        char data[SIZE];
        size_t n;
        while ((n = fread(data, 1, SIZE, f)) > 0) {
            size_t done = 0;
            while (done < n) {
                ssize_t w = send(c, data + done, n - done, MSG_NOSIGNAL);
                if (w <= 0) { fclose(f); return; }
                done += w;
            }
        }
    }
    fclose(f);
}

int main(void) {
    config();
    int s = socket(AF_INET, SOCK_STREAM, 0), yes = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) { perror("bind"); return 1; }
    listen(s, 20);
    printf("server up on %d\n", port);
    fflush(stdout);
    while (1) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        struct timeval tv = {timeout_sec, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char req[SIZE];
        memset(req, 0, SIZE);
        if (recv(c, req, SIZE - 1, 0) > 0) do_request(c, req);
        close(c);
    }
}
