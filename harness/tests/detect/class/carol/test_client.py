"""Carol's test client (not the server)."""
import socket

if __name__ == "__main__":
    print(socket.create_connection(("127.0.0.1", 8080)).recv(100))
