# The fully supervised ceiling (method Full): every pool pixel labelled with its ground truth,
# trained by the experiment's recipe once per trial, evaluated like every round.


rule train_full:
    input:
        unpack(get_input("train_full")),
    output:
        model=results(layout.full_file("model")),
        log=results(layout.full_file("train_log")),
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
        spec=spec_json(train_settings(config)),
        seed=config["seed"],
    threads: config["train"]["threads"]
    log:
        logs("train_full", "trial"),
    benchmark:
        benchmarks("train_full", "trial")
    resources:
        **resources_of("train", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal train --full {params.inputs} --dataset {params.dataset:q} --spec {params.spec:q}"
        " --seed {params.seed} --trial {wildcards.trial} --round 0"
        " --device {resources.device} --threads {threads}"
        " --out {output.model} --log-out {output.log} > {log} 2>&1"


rule evaluate_full:
    input:
        unpack(get_input("evaluate_full")),
    output:
        results(layout.full_file("metrics")),
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
    threads: 1
    log:
        logs("evaluate_full", "trial"),
    benchmark:
        benchmarks("evaluate_full", "trial")
    resources:
        **resources_of("evaluate", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal evaluate {params.inputs} --dataset {params.dataset:q} --method Full"
        " --trial {wildcards.trial} --device {resources.device} --threads {threads}"
        " --out {output} > {log} 2>&1"
