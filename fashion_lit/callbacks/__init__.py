"""fashion_lit's Lightning callbacks, where Lightning users look for them: the checkpoints a
run keeps, the evaluation pictures, the prediction writer and the progress bar."""
