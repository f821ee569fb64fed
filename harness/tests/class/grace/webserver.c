/* Grace H. -- PA2 -- threaded HTTP/1.1 server.  gcc -pthread webserver.c -o webserver */
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

#define BUFSIZE 8192

int port, keepalive_time;
char docroot[1024];
char index_files[5][100];
int num_index;
char extensions[30][20], content_types[30][100];
int num_types;
int bad_config;

void load_config(void) {
    FILE *fp = fopen("ws.conf", "r");
    char line[1024], key[100], value[1024];
    if (!fp) { perror("ws.conf"); exit(1); }
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (line[0] == '#' || line[0] == '\n') continue;
        int n = sscanf(line, "%99s %1023[^\r\n]", key, value);
        if (key[0] == '.') {
            if (n < 2) bad_config = 1;
            else if (num_types < 30) { strcpy(extensions[num_types], key); sscanf(value, "%99s", content_types[num_types]); num_types++; }
        } else if (strcmp(key, "Listen") == 0) port = atoi(value);
        else if (strcmp(key, "DocumentRoot") == 0) {
            char *v = value;
            if (*v == '"') v++;
            strcpy(docroot, v);
            char *q = strchr(docroot, '"');
            if (q) *q = '\0';
        } else if (strcmp(key, "DirectoryIndex") == 0) {
            char *save, *tok = strtok_r(value, " ", &save);
            while (tok != NULL && num_index < 5) { strcpy(index_files[num_index++], tok); tok = strtok_r(NULL, " ", &save); }
        } else if (strcmp(key, "KeepaliveTime") == 0) keepalive_time = atoi(value);
    }
    fclose(fp);
}

void send_status(int client, int code, const char *msg, const char *reason, int keep) {
    char body[512], response[1024];
    sprintf(body, "<html><body><h1>%d %s</h1><p>%s</p></body></html>", code, msg, reason);
    sprintf(response, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n%s",
            code, msg, strlen(body), keep ? "keep-alive" : "close", body);
    send(client, response, strlen(response), MSG_NOSIGNAL);
}

const char *find_type(const char *file) {
    const char *ext = strrchr(file, '.');
    if (ext == NULL) return NULL;
    for (int i = 0; i < num_types; i++)
        if (strcmp(ext, extensions[i]) == 0) return content_types[i];
    return NULL;
}

int known_method(const char *m) {
    const char *list[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    for (int i = 0; i < 9; i++) if (strcmp(m, list[i]) == 0) return 1;
    return 0;
}

/* handles the request in buf; returns 1 to keep the connection */
int handle_request(int client, char *buf) {
    char method[100] = "", url[2048] = "", version[100] = "", filepath[4096];
    sscanf(buf, "%99s %2047s %99s", method, url, version);
    int keep = strcmp(version, "HTTP/1.1") == 0;
    char *conn = strcasestr(buf, "Connection:");
    if (conn != NULL) keep = strncasecmp(conn + 12, "keep-alive", 10) == 0;

    if (!known_method(method)) { send_status(client, 400, "Bad Request", "Invalid Method", 0); return 0; }
    if (url[0] != '/') { send_status(client, 400, "Bad Request", "Invalid URL", 0); return 0; }
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
        send_status(client, 400, "Bad Request", "Invalid HTTP-Version", 0); return 0;
    }
    if (bad_config) { send_status(client, 500, "Internal Server Error", "cannot allocate memory", 0); return 0; }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        send_status(client, 501, "Not Implemented", method, keep); return keep;
    }
    if (strstr(url, "..") != NULL) { send_status(client, 403, "Forbidden", "Forbidden", keep); return keep; }

    struct stat info;
    snprintf(filepath, sizeof(filepath), "%s%s", docroot, url);
    if (stat(filepath, &info) == 0 && S_ISDIR(info.st_mode)) {
        int found = 0;
        for (int i = 0; i < num_index && !found; i++) {
            snprintf(filepath, sizeof(filepath), "%s%s/%s", docroot, url, index_files[i]);
            found = stat(filepath, &info) == 0;
        }
        if (!found) { send_status(client, 404, "Not Found", "URL does not exist", keep); return keep; }
    }
    FILE *f = fopen(filepath, "rb");
    if (f == NULL || stat(filepath, &info) != 0) {
        if (f) fclose(f);
        send_status(client, 404, "Not Found", "URL does not exist", keep); return keep;
    }
    const char *type = find_type(filepath);
    if (type == NULL) { fclose(f); send_status(client, 501, "Not Implemented", "File type not supported", keep); return keep; }
    char header[512];
    sprintf(header, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: %s\r\n\r\n",
            type, (long)info.st_size, keep ? "keep-alive" : "close");
    send(client, header, strlen(header), MSG_NOSIGNAL);
    if (strcmp(method, "GET") == 0) {
        char chunk[BUFSIZE];
        size_t n;
        while ((n = fread(chunk, 1, BUFSIZE, f)) > 0) {
            size_t sent = 0;
            while (sent < n) {
                ssize_t s = send(client, chunk + sent, n - sent, MSG_NOSIGNAL);
                if (s <= 0) { fclose(f); return 0; }
                sent += s;
            }
        }
    }
    fclose(f);
    return keep;
}

void *client_thread(void *arg) {
    int client = (int)(long)arg;
    char buf[BUFSIZE];
    struct timeval tv = {keepalive_time, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (1) {
        memset(buf, 0, BUFSIZE);
        /* one recv is one request */
        int n = recv(client, buf, BUFSIZE - 1, 0);
        if (n <= 0) break;
        if (!handle_request(client, buf)) break;
    }
    close(client);
    return NULL;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    load_config();
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    int opt = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) { perror("bind"); return 1; }
    if (listen(sock, 10) < 0) { perror("listen"); return 1; }
    printf("Listening on port %d...\n", port);
    fflush(stdout);
    while (1) {
        int client = accept(sock, NULL, NULL);
        if (client < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, client_thread, (void *)(long)client) != 0) { close(client); continue; }
        pthread_detach(t);
    }
}
