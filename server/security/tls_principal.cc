#include "server/security/tls_principal.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace {

std::string Asn1String(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

absl::StatusOr<std::string> CommonName(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int last = -1;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    last = i;
  }
  if (last < 0) return absl::NotFoundError("the client certificate's subject has no CN");
  std::string cn = Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
  if (cn.empty()) return absl::NotFoundError("the client certificate's CN is empty");
  return cn;
}

absl::StatusOr<std::string> SubjectAltName(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return absl::NotFoundError("the client certificate has no subjectAltName");
  }
  std::string found;
  for (int type : {GEN_DNS, GEN_URI, GEN_EMAIL}) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && found.empty(); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == type) found = Asn1String(n->d.ia5);
    }
    if (!found.empty()) break;
  }
  GENERAL_NAMES_free(names);
  if (found.empty()) {
    return absl::NotFoundError("the client certificate has no DNS, URI or email subjectAltName");
  }
  return found;
}

absl::StatusOr<std::string> DistinguishedName(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (bio == nullptr ||
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
    return absl::InternalError("cannot print the client certificate's subject");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
  if (n <= 0) return absl::NotFoundError("the client certificate's subject is empty");
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

absl::StatusOr<PrincipalField> ParsePrincipalField(std::string_view text) {
  if (text == "cn") return PrincipalField::kCn;
  if (text == "san") return PrincipalField::kSan;
  if (text == "dn") return PrincipalField::kDn;
  return absl::InvalidArgumentError(
      absl::StrCat("--tls-principal must be cn, san or dn, got '", std::string(text), "'"));
}

absl::StatusOr<std::string> PrincipalName(X509* cert, PrincipalField field) {
  if (cert == nullptr) return absl::NotFoundError("no client certificate");
  switch (field) {
    case PrincipalField::kCn:
      return CommonName(cert);
    case PrincipalField::kSan:
      return SubjectAltName(cert);
    case PrincipalField::kDn:
      return DistinguishedName(cert);
  }
  return absl::InternalError("unknown principal field");
}

absl::StatusOr<std::string> PrincipalNameFromPem(std::string_view pem, PrincipalField field) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio == nullptr) return absl::InternalError("out of memory");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("no PEM certificate");
  }
  return PrincipalName(cert.get(), field);
}

}  // namespace ferry::security
