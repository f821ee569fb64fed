package edu.pa;

import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.util.*;

/** Dave's web server: reads ws.conf from the working folder, tab-separated. */
public class WebServer {
    public static void main(String[] args) throws Exception {
        Map<String, String> conf = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get("ws.conf"))) {
            String[] p = line.trim().split("\\s+", 2);
            if (p.length == 2 && !p[0].startsWith("#")) conf.put(p[0], p[1].replace("\"", ""));
        }
        String root = conf.get("DocumentRoot");
        try (ServerSocket s = new ServerSocket(Integer.parseInt(conf.get("Listen")))) {
            while (true) {
                Socket c = s.accept();
                new Thread(() -> serve(c, root, conf)).start();
            }
        }
    }

    static void serve(Socket c, String root, Map<String, String> conf) {
        try (c) {
            BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream()));
            String[] req = in.readLine().split(" ");
            String path = req[1].endsWith("/") ? req[1] + "index.html" : req[1];
            Path file = Paths.get(root, path);
            OutputStream out = c.getOutputStream();
            if (Files.isRegularFile(file)) {
                byte[] body = Files.readAllBytes(file);
                String name = file.toString();
                String type = conf.getOrDefault(name.substring(name.lastIndexOf('.')), "application/octet-stream");
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nContent-Length: " + body.length
                        + "\r\nConnection: close\r\n\r\n").getBytes());
                out.write(body);
            } else {
                out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".getBytes());
            }
        } catch (Exception e) {
            System.err.println(e);
        }
    }
}
