"""TFKaldi's feed-forward DNN acoustic model, trained with CTC over characters."""
