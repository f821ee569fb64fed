/*
 * Carol -- Network Systems PA2 -- forking web server.
 * ws.conf is read the way the handout lays it out: every setting is on the line after its
 * comment ("#serviceport number" then "Listen 8888", ...).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define BUFFER_SIZE 4096

int port;
int keep_time;
char root[BUFFER_SIZE];
char dir_index[8][64];
int n_index;
char ext_list[32][16], type_list[32][64];
int n_types;
int config_error;

void parse_config(void) {
    FILE *fp = fopen("ws.conf", "r");
    char line[BUFFER_SIZE], next[BUFFER_SIZE];
    if (!fp) { perror("ws.conf"); exit(1); }
    while (fgets(line, sizeof(line), fp)) {
        if (line[0] != '#') continue;
        if (strncmp(line, "#serviceport", 12) == 0 && fgets(next, sizeof(next), fp)) {
            sscanf(next, "%*s %d", &port);
        } else if (strncmp(line, "#document root", 14) == 0 && fgets(next, sizeof(next), fp)) {
            char *q1 = strchr(next, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
            if (q1 && q2) { *q2 = 0; strcpy(root, q1 + 1); } else sscanf(next, "%*s %s", root);
        } else if (strncmp(line, "#default web page", 17) == 0 && fgets(next, sizeof(next), fp)) {
            char *tok = strtok(next, " \t\r\n");
            while ((tok = strtok(NULL, " \t\r\n")) && n_index < 8) strcpy(dir_index[n_index++], tok);
        } else if (strncmp(line, "#Content-Type", 13) == 0) {
            /* the type lines follow until the next comment */
            long pos = ftell(fp);
            while (fgets(next, sizeof(next), fp) && next[0] == '.') {
                char e[16] = "", t[64] = "";
                if (sscanf(next, "%15s %63s", e, t) != 2) config_error = 1;
                else if (n_types < 32) { strcpy(ext_list[n_types], e); strcpy(type_list[n_types], t); n_types++; }
                pos = ftell(fp);
            }
            fseek(fp, pos, SEEK_SET);
        } else if (strncmp(line, "#connection timeout", 19) == 0 && fgets(next, sizeof(next), fp)) {
            char *last = strrchr(next, ' ');
            keep_time = atoi(last ? last + 1 : next);
        }
    }
    fclose(fp);
}

/* error pages are built in one buffer and the whole buffer is sent */
void send_error(int fd, char *status, char *reason) {
    char response[BUFFER_SIZE];
    memset(response, 0, BUFFER_SIZE);
    sprintf(response, "HTTP/1.1 %s\r\nContent-Type: text/html\r\n\r\n<html><body>%s Reason: %s</body></html>",
            status, status, reason);
    send(fd, response, BUFFER_SIZE, MSG_NOSIGNAL);
}

int is_method(char *m) {
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
           !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE") ||
           !strcmp(m, "CONNECT") || !strcmp(m, "PATCH");
}

/* returns 0 when the connection must be closed */
int serve(int fd, char *request) {
    char method[BUFFER_SIZE] = "", uri[BUFFER_SIZE] = "", version[BUFFER_SIZE] = "";
    char path[3 * BUFFER_SIZE];
    sscanf(request, "%s %s %s", method, uri, version);
    int keep = strcmp(version, "HTTP/1.0") != 0;
    char *conn = strcasestr(request, "Connection:");
    if (conn) keep = strncasecmp(conn + 11 + strspn(conn + 11, " "), "close", 5) != 0;

    if (config_error) { send_error(fd, "500 Internal Server Error", "cannot allocate memory"); return 0; }
    if (!is_method(method)) { send_error(fd, "400 Bad Request", "Invalid Method"); return keep; }
    if (uri[0] != '/') { send_error(fd, "400 Bad Request", "Invalid URL"); return keep; }
    if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) {
        send_error(fd, "400 Bad Request", "Invalid HTTP-Version"); return keep;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) { send_error(fd, "501 Not Implemented", method); return keep; }
    if (strstr(uri, "..")) { send_error(fd, "403 Forbidden", "Forbidden"); return keep; }

    struct stat sb;
    snprintf(path, sizeof(path), "%s%s", root, uri);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        int i;
        for (i = 0; i < n_index; i++) {
            snprintf(path, sizeof(path), "%s%s%s%s", root, uri, uri[strlen(uri) - 1] == '/' ? "" : "/", dir_index[i]);
            if (stat(path, &sb) == 0) break;
        }
        if (i == n_index) { send_error(fd, "404 Not Found", "URL does not exist"); return keep; }
    }
    int file = open(path, O_RDONLY);
    if (file < 0 || fstat(file, &sb) < 0) { send_error(fd, "404 Not Found", "URL does not exist"); return keep; }
    char *dot = strrchr(path, '.'), *type = NULL;
    for (int i = 0; dot && i < n_types; i++)
        if (!strcmp(dot, ext_list[i])) type = type_list[i];
    if (!type) { close(file); send_error(fd, "501 Not Implemented", "File type not supported"); return keep; }

    char header[BUFFER_SIZE];
    int hl = sprintf(header, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: %s\r\n\r\n",
                     type, (long)sb.st_size, keep ? "Keep-alive" : "Close");
    send(fd, header, hl, MSG_NOSIGNAL);
    if (!strcmp(method, "GET")) {
        char data[BUFFER_SIZE];
        ssize_t n;
        while ((n = read(file, data, BUFFER_SIZE)) > 0) {
            ssize_t off = 0, w;
            while (off < n && (w = send(fd, data + off, n - off, MSG_NOSIGNAL)) > 0) off += w;
            if (off < n) { close(file); return 0; }
        }
    }
    close(file);
    return keep;
}

void child(int fd) {
    char buffer[BUFFER_SIZE + 1];
    int used = 0;
    for (;;) {
        char *end = NULL;
        buffer[used] = 0;
        while (!(end = strstr(buffer, "\r\n\r\n")) && !(end = strstr(buffer, "\n\n"))) {
            fd_set set;
            FD_ZERO(&set);
            FD_SET(fd, &set);
            struct timeval tv = {keep_time, 0};
            if (used == BUFFER_SIZE || select(fd + 1, &set, NULL, NULL, &tv) <= 0) return;
            int n = recv(fd, buffer + used, BUFFER_SIZE - used, 0);
            if (n <= 0) return;
            used += n;
            buffer[used] = 0;
        }
        end += (end[0] == '\r') ? 4 : 2;
        char request[BUFFER_SIZE + 1];
        int len = end - buffer;
        memcpy(request, buffer, len);
        request[len] = 0;
        memmove(buffer, end, used - len);
        used -= len;
        if (!serve(fd, request)) return;
    }
}

int main(void) {
    parse_config();
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int sockfd = socket(AF_INET, SOCK_STREAM, 0), opt = 1;
    setsockopt(sockfd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
    struct sockaddr_in server_addr;
    memset(&server_addr, 0, sizeof(server_addr));
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &server_addr.sin_addr);
    if (bind(sockfd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0) { perror("bind failed"); exit(1); }
    listen(sockfd, 20);
    printf("listening on %d\n", port);
    fflush(stdout);
    while (1) {
        int client = accept(sockfd, NULL, NULL);
        if (client < 0) continue;
        if (fork() == 0) {
            close(sockfd);
            child(client);
            close(client);
            exit(0);
        }
        close(client);
    }
}
