"""tfnvp bijectors: one `tfp.bijectors.Bijector` subclass per file."""
from tfnvp.bijectors.affine_coupling import AffineCoupling
from tfnvp.bijectors.batch_norm import BatchNorm
from tfnvp.bijectors.flow_bijector import FlowBijector
from tfnvp.bijectors.flow_chain import FlowChain
from tfnvp.bijectors.logit import DEFAULT_ALPHA, LogitPreprocessing
from tfnvp.bijectors.multiscale import FactorOut, merge_latents, split_latents
from tfnvp.bijectors.permute import Permute
from tfnvp.bijectors.squeeze import Squeeze, Unsqueeze

__all__ = ["AffineCoupling", "BatchNorm", "DEFAULT_ALPHA", "FactorOut", "FlowBijector",
           "FlowChain", "LogitPreprocessing", "Permute", "Squeeze", "Unsqueeze", "merge_latents",
           "split_latents"]
