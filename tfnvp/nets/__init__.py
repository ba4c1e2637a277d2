"""Keras 3 layers owned by the model: conditioner networks and flow batch-norm statistics."""
from tfnvp.nets.flow_batch_norm_statistics import FlowBatchNormStatistics
from tfnvp.nets.mlp import MLPConditioner
from tfnvp.nets.resnet import ResidualBlock, ResNetConditioner
from tfnvp.nets.scale_and_shift import ScaleAndShift
from tfnvp.nets.weight_norm_conv import WeightNormConv2D

__all__ = ["FlowBatchNormStatistics", "MLPConditioner", "ResNetConditioner", "ResidualBlock",
           "ScaleAndShift", "WeightNormConv2D"]
