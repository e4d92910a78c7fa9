"""Keras layers of vidattn."""

from vidattn.layers.caption_tokenizer import CaptionTokenizer
from vidattn.layers.gated_spatio_temporal_attention import (
    GatedSpatioTemporalAttention,
)
from vidattn.layers.lstm_state_initializer import LSTMStateInitializer
from vidattn.layers.soft_attention_lstm import SoftAttentionLSTM
from vidattn.layers.soft_attention_lstm_cell import SoftAttentionLSTMCell
