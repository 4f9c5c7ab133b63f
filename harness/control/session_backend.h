// The control API's Backend for a live Session: its supervisor's nodes and process verbs, its
// events.jsonl, INFO and ROLE over RESP, and the links (when the run's network has them).
#pragma once

#include "chaos/link_control.h"
#include "chaos/process_faults.h"
#include "harness/control/api.h"
#include "harness/run/session.h"

namespace fl::control {

// REQUIRES: `session` and `process` (and `links`, unless null) outlive every use of the result.
// `links` null: the run's network is direct (partition, slow and links answer 409).
Backend session_backend(run::Session& session, chaos::ProcessControl& process,
                        chaos::LinkControl* links);

}  // namespace fl::control
