// The HTTPS server of shenbao-intake: the tus 1.0.0 endpoints (core, creation,
// checksum), commit, receipt and health, exactly as shared/include/shenbao/wire.h
// describes them. Built on cpp-httplib (Debian's, compiled with OpenSSL).
#pragma once

#include <string>

namespace shenbao::intake {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8443;             // 0: any free port (printed on the first stdout line)
    std::string cert, key;       // TLS certificate chain and private key (PEM)
    std::string data_dir;        // intake.db and uploads/
    std::string key_dir;         // commission.key and receipt.key (default: data_dir)
    int upload_expiry_hours = 168;  // uncommitted uploads older than this are deleted
    int threads = 16;            // connections served at once
};

// Serves until SIGTERM or SIGINT. The first line on stdout, once the port is
// bound, is "shenbao-intake listening on https://<host>:<port>". Returns the
// process exit code (see main.cpp): 0 after a clean stop, 2 when the database
// or a key file cannot be opened, 3 when the server cannot start (TLS files,
// address in use).
int serve(const ServeOptions& options);

}  // namespace shenbao::intake
