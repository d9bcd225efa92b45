# The fully supervised ceiling (method Full): every pool pixel labelled with its ground truth,
# trained by the experiment's recipe once per trial, evaluated like every round.


rule train_full:
    input:
        dataset=[P(layout.DATASET_DONE)] if DATASET["name"] == "synthetic" else [],
        features=FEATURES_INPUT,
    output:
        model=P(layout.full_file("model")),
        log=P(layout.full_file("train_log")),
    params:
        dataset=DATASET_JSON,
        spec=spec_json(config["train"]),
        seed=config["seed"],
        features=FEATURES_ARG,
    threads: max(1, config["train"].get("threads", 1))
    log:
        LOG("train_full", "trial"),
    benchmark:
        BENCH("train_full", "trial")
    resources:
        **resources_of("train", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal train --full --dataset {params.dataset:q} --spec {params.spec:q} {params.features}"
        " --seed {params.seed} --trial {wildcards.trial} --round 0 --out {output.model}"
        " --log-out {output.log} > {log} 2>&1"


rule evaluate_full:
    input:
        model=P(layout.full_file("model")),
        features=FEATURES_INPUT,
    output:
        P(layout.full_file("metrics")),
    params:
        dataset=DATASET_JSON,
        device=DEVICE,
        features=FEATURES_ARG,
    threads: 1
    log:
        LOG("evaluate_full", "trial"),
    benchmark:
        BENCH("evaluate_full", "trial")
    resources:
        **resources_of("evaluate", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal evaluate --dataset {params.dataset:q} --model {input.model} {params.features}"
        " --method Full --trial {wildcards.trial} --device {params.device} --threads {threads}"
        " --out {output} > {log} 2>&1"
