#pragma once
// PEM certificates and keys for TLS tests, made fresh on every run so none of them is committed
// or expires in the repository: a CA and leaves it signed (valid, expired, for the wrong host),
// plus an unrelated CA and a self-signed leaf for the "unknown issuer" cases.

#include <filesystem>

namespace chat::test {

// Every path is a PEM file in the directory given to make_test_certificates. P-256 keys, SHA-256
// signatures; "localhost" means CN=localhost with SANs DNS:localhost and IP:127.0.0.1.
struct TestCertificates {
  std::filesystem::path ca_cert;      // self-signed CA that signed server, expired and wrong_host
  std::filesystem::path server_cert;  // localhost, valid from an hour ago for a day
  std::filesystem::path server_key;
  std::filesystem::path expired_cert;  // localhost, valid from two days ago until a day ago
  std::filesystem::path expired_key;
  std::filesystem::path wrong_host_cert;  // valid, but only for DNS:wrong.example
  std::filesystem::path wrong_host_key;
  std::filesystem::path other_ca_cert;     // a self-signed CA that signed nothing here
  std::filesystem::path self_signed_cert;  // localhost, signed by its own key
  std::filesystem::path self_signed_key;
};

// Creates dir if needed and writes the files into it (overwriting); throws std::runtime_error with
// OpenSSL's reason when a step fails.
TestCertificates make_test_certificates(const std::filesystem::path& dir);

}  // namespace chat::test
