// Launchers of the CUDA kernels (defined in bias_act.cu, upfirdn2d.cu and filtered_lrelu.cu, which include only
// CUDA headers). The torch-facing binding (cuda_binding.cpp) checks the tensors and calls these with raw pointers.
#pragma once

#include <cuda_runtime_api.h>

#include "op_args.h"

namespace insilico_ops {

// storage type of the tensors a launcher runs on
enum class CudaDtype : int { Float16 = 0, Float32 = 1, Float64 = 2 };

// bias_act (args.db must be null: the binding reduces db with torch)
cudaError_t launch_bias_act_cuda(const BiasActArgs& args, CudaDtype dtype, cudaStream_t stream);

// upfirdn2d; the filter is float for Float16/Float32 tensors, double for Float64
cudaError_t launch_upfirdn2d_cuda(const Upfirdn2dArgs& args, CudaDtype dtype, cudaStream_t stream);

// filtered_lrelu; `intermediate` is scratch of planes * mid_h * mid_w floats (doubles for Float64), which holds
// the activated intermediate image between the kernel of the up stage and the kernel of the down stage
cudaError_t launch_filtered_lrelu_cuda(const FilteredLReluArgs& args, void* intermediate, CudaDtype dtype,
                                       cudaStream_t stream);

}  // namespace insilico_ops
