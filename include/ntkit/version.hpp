#pragma once

namespace ntkit {

/// Library version, "MAJOR.MINOR.PATCH".
const char* version();

}  // namespace ntkit
