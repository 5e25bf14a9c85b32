"""Treasury governance (issue 13, decision 0030): officers, M-of-N signed proposals, and the
append-only governance log every governed action is executed through."""
