"""Attention maps as PNG strips and HTML reports."""

from vidattn.visualization.attention_maps import attention_overlay
from vidattn.visualization.attention_maps import attention_strip
from vidattn.visualization.attention_maps import upsample_attention
from vidattn.visualization.attention_maps import write_attention_report
from vidattn.visualization.caption_attention_maps import caption_attention_strip
from vidattn.visualization.caption_attention_maps import write_caption_report
