"""Hand-made result rows (the fields of `distill_lab.evaluation.ROW_FIELDS`), shared by
test_results.py and test_plots.py."""


def make_row(method, budget, acc, std=0.5, full=97.0, ttr=8.0, sel=0.1, t_full=8.0):
    """A row as evaluation.protocol builds it: drop = full - acc, end-to-end from the time shares."""
    t_s = t_full / ttr
    return {"dataset": "toy", "model": "logreg", "protocol": "compute", "method": method,
            "budget": budget, "n_selected": round(budget * 1000), "seeds": 3,
            "accuracy_mean": acc, "accuracy_std": std, "full_accuracy": full, "drop": full - acc,
            "train_time_ratio": ttr, "selection_seconds": sel,
            "end_to_end_ratio": t_full / (sel + t_s), "device": "cpu", "device_select": "cpu"}


def make_rows(best_acc=95.5, best_ttr=8.0, best_sel=0.1, random_std=1.0):
    return [make_row("full", 1.0, 97.0, std=0.2, ttr=1.0, sel=0.0),
            make_row("random", 0.1, 93.0, std=random_std),
            make_row("kmeans", 0.1, best_acc, ttr=best_ttr, sel=best_sel),
            make_row("el2n", 0.1, 90.0),
            make_row("random", 0.01, 70.0, std=3.0),
            make_row("kmeans", 0.01, 85.0)]
