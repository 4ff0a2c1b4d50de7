// The dev IdP's admin API under /_devidp/ (JSON bodies), used by tests and scripts to inject
// faults, roll keys over, read counters and change app secrets, certificates, federated
// credentials, trusted federated issuers and roles at run time.
// Handlers are thread-safe (every target is).
#ifndef TOKEND_TESTS_DEVIDP_ADMIN_API_H_
#define TOKEND_TESTS_DEVIDP_ADMIN_API_H_

#include <httplib.h>

#include "tests/devidp/directory.h"
#include "tests/devidp/fault_injector.h"
#include "tests/devidp/request_counters.h"
#include "tests/devidp/signing_key_store.h"

namespace tokend {
namespace devidp {

class AdminApi {
 public:
  // All references must outlive this object and the server it is registered on.
  AdminApi(Directory& directory, FaultInjector& faults, SigningKeyStore& keys,
           RequestCounters& counters)
      : directory_(directory), faults_(faults), keys_(keys), counters_(counters) {}

  // Adds the /_devidp/ routes to `server` (see README.md for the list).
  void Register(httplib::Server& server);

 private:
  void AddFault(const httplib::Request& req, httplib::Response& res);
  void RotateKeys(const httplib::Request& req, httplib::Response& res);
  void AddSecret(const httplib::Request& req, httplib::Response& res);
  void RemoveSecret(const httplib::Request& req, httplib::Response& res);
  void SetRoles(const httplib::Request& req, httplib::Response& res);
  void SetTenant(const httplib::Request& req, httplib::Response& res);
  void AddCertificate(const httplib::Request& req, httplib::Response& res);
  void RemoveCertificate(const httplib::Request& req, httplib::Response& res);
  void AddFederatedCredential(const httplib::Request& req, httplib::Response& res);
  void SetFederatedIssuer(const httplib::Request& req, httplib::Response& res);

  Directory& directory_;
  FaultInjector& faults_;
  SigningKeyStore& keys_;
  RequestCounters& counters_;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_ADMIN_API_H_
