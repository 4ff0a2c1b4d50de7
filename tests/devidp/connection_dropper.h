// Drops an HTTP connection without a response, for the drop_connection fault. cpp-httplib does
// not expose the socket to handlers, so the socket is found by its address pair.
#ifndef TOKEND_TESTS_DEVIDP_CONNECTION_DROPPER_H_
#define TOKEND_TESTS_DEVIDP_CONNECTION_DROPPER_H_

#include <string>

#include "absl/status/status.h"

namespace tokend {
namespace devidp {

// Finds this process's TCP socket whose local port is `local_port` and whose peer is
// `remote_addr`:`remote_port`, and shuts it down in both directions, so the peer reads EOF
// before any response byte (the server closes the descriptor later, as usual).
// Returns NotFound if no such socket exists. Linux only (walks /proc/self/fd).
absl::Status DropConnection(int local_port, const std::string& remote_addr, int remote_port);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_CONNECTION_DROPPER_H_
