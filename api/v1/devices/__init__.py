"""What devices call: their own token, and a patrol car's plate reads."""
