// CPU kernels of the custom ops: plain C++ on raw pointers and sizes (the torch-facing checks and dispatch are in
// cpu_binding.cpp). T is the storage type (float, double, c10::BFloat16); arithmetic runs in float, or double for
// double tensors.
#pragma once

#include "op_args.h"

namespace insilico_ops {

template <typename T>
void bias_act_cpu(const BiasActArgs& args);

template <typename T>
void upfirdn2d_cpu(const Upfirdn2dArgs& args);

template <typename T>
void filtered_lrelu_cpu(const FilteredLReluArgs& args);

}  // namespace insilico_ops
