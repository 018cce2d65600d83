// Loads and stores between a storage type and the float/double arithmetic of the CPU kernels. The bfloat16
// conversions are branch-free (unlike c10's, which test for NaN with a branch) so that loops over them vectorise.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace insilico_ops {

// arithmetic type of a storage type: double for double, float otherwise
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
inline Acc<T> load(const T& v) {
    return Acc<T>(v);
}

template <>
inline float load(const c10::BFloat16& v) {
    const uint32_t bits = uint32_t(v.x) << 16;
    float out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
}

template <typename T>
inline T store(Acc<T> v) {
    return T(v);
}

// float -> bfloat16, rounding to nearest even; NaN stays a (quiet) NaN
template <>
inline c10::BFloat16 store<c10::BFloat16>(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    const bool is_nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
    return c10::BFloat16(uint16_t(is_nan ? 0x7FC0u : rounded), c10::BFloat16::from_bits());
}

}  // namespace insilico_ops
