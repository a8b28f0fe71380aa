#include "test_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace chat::test {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};
using Key = std::unique_ptr<EVP_PKEY, Freer<&EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Freer<&X509_free>>;
using Bio = std::unique_ptr<BIO, Freer<&BIO_free_all>>;
using BigNum = std::unique_ptr<BIGNUM, Freer<&BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Freer<&X509_EXTENSION_free>>;

constexpr long hour = 60 * 60;
constexpr long day = 24 * hour;
constexpr const char* localhost_names = "DNS:localhost,IP:127.0.0.1";

[[noreturn]] void fail(const std::string& step) {
  std::string message = "test certificates: " + step + " failed";
  while (const unsigned long code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += std::string(": ") + reason;
  }
  throw std::runtime_error(message);
}

void check(int result, const std::string& step) {
  if (result <= 0) fail(step);
}

struct CertSpec {
  const char* common_name;
  const char* alt_names;  // nullptr: no subjectAltName
  long valid_from;        // seconds relative to now
  long valid_until;
  bool is_ca = false;
};

struct KeyAndCert {
  Key key;
  Cert cert;
};

Key make_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("generating a P-256 key");
  return key;
}

void set_random_serial(X509* cert) {
  BigNum serial(BN_new());
  if (!serial) fail("BN_new");
  // 63 random bits with the top one set: positive, distinct, and always eight bytes long.
  check(BN_rand(serial.get(), 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert))) fail("setting the serial");
}

// The extension is computed against issuer (subject and authority key identifiers need both).
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  check(X509_add_ext(cert, extension.get(), -1), "X509_add_ext");
}

void add_extensions(X509* cert, X509* issuer, const CertSpec& spec) {
  add_extension(cert, issuer, NID_subject_key_identifier, "hash");
  add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always");
  if (spec.is_ca) {
    add_extension(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    return;
  }
  add_extension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  if (spec.alt_names) add_extension(cert, issuer, NID_subject_alt_name, spec.alt_names);
}

// Signed by issuer, or by itself when issuer is nullptr.
KeyAndCert make_cert(const CertSpec& spec, const KeyAndCert* issuer) {
  KeyAndCert made{make_key(), Cert(X509_new())};
  X509* cert = made.cert.get();
  if (!cert) fail("X509_new");
  check(X509_set_version(cert, X509_VERSION_3), "X509_set_version");
  set_random_serial(cert);
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), spec.valid_from)) fail("setting notBefore");
  if (!X509_gmtime_adj(X509_getm_notAfter(cert), spec.valid_until)) fail("setting notAfter");
  const auto* name = reinterpret_cast<const unsigned char*>(spec.common_name);
  check(
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8, name, -1, -1, 0),
      "setting the subject");
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : made.key.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)), "setting the issuer");
  check(X509_set_pubkey(cert, made.key.get()), "X509_set_pubkey");
  add_extensions(cert, issuer_cert, spec);
  check(X509_sign(cert, signing_key, EVP_sha256()), "X509_sign");
  return made;
}

Bio open_for_writing(const std::filesystem::path& path) {
  Bio file(BIO_new_file(path.c_str(), "w"));
  if (!file) fail("opening " + path.string());
  return file;
}

std::filesystem::path write_cert(const std::filesystem::path& path, const KeyAndCert& made) {
  const Bio file = open_for_writing(path);
  check(PEM_write_bio_X509(file.get(), made.cert.get()), "writing " + path.string());
  return path;
}

// Unencrypted PKCS#8, as the server's key_file expects.
std::filesystem::path write_key(const std::filesystem::path& path, const KeyAndCert& made) {
  const Bio file = open_for_writing(path);
  check(PEM_write_bio_PrivateKey(file.get(), made.key.get(), nullptr, nullptr, 0, nullptr, nullptr),
        "writing " + path.string());
  return path;
}

}  // namespace

TestCertificates make_test_certificates(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto ca = make_cert({"chat test CA", nullptr, -3 * day, 7 * day, true}, nullptr);
  const auto other_ca = make_cert({"chat other CA", nullptr, -3 * day, 7 * day, true}, nullptr);
  const auto server = make_cert({"localhost", localhost_names, -hour, day}, &ca);
  const auto expired = make_cert({"localhost", localhost_names, -2 * day, -day}, &ca);
  const auto wrong_host = make_cert({"wrong.example", "DNS:wrong.example", -hour, day}, &ca);
  const auto self_signed = make_cert({"localhost", localhost_names, -hour, day}, nullptr);

  TestCertificates files;
  files.ca_cert = write_cert(dir / "ca.pem", ca);
  files.server_cert = write_cert(dir / "server.pem", server);
  files.server_key = write_key(dir / "server.key", server);
  files.expired_cert = write_cert(dir / "expired.pem", expired);
  files.expired_key = write_key(dir / "expired.key", expired);
  files.wrong_host_cert = write_cert(dir / "wrong_host.pem", wrong_host);
  files.wrong_host_key = write_key(dir / "wrong_host.key", wrong_host);
  files.other_ca_cert = write_cert(dir / "other_ca.pem", other_ca);
  files.self_signed_cert = write_cert(dir / "self_signed.pem", self_signed);
  files.self_signed_key = write_key(dir / "self_signed.key", self_signed);
  return files;
}

}  // namespace chat::test
