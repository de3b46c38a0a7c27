"""The players of a training run: each ``LossGroup`` of a model with its optimizer and variables.

A model's ``loss_groups()`` (``ttszoo.models.base.LossGroup``) names, per player, the loss it
minimises, the variables it moves, when it moves them and how its optimizer is built. This
module checks the groups against the model, builds one optimizer per group and the compiled
training step that runs the groups active at a step, in order (docs/model_directory.md).
"""

import dataclasses

import tensorflow as tf

import gin
from ttszoo.training.optimization import current_learning_rate

DEFAULT_GROUP = "loss"


@dataclasses.dataclass
class Player:
    """A ``LossGroup`` made concrete: its optimizer and its variables."""

    group: object
    optimizer: object
    variables: list


def check_groups(model, groups, losses):
    """Raises a ValueError if the model's ``loss_groups()`` break the contract."""
    where = f"{type(model).__name__}.loss_groups()"
    if not groups:
        raise ValueError(f"{where} returned no group; return at least one LossGroup.")
    names = [group.name for group in groups]
    if len(set(names)) != len(names):
        raise ValueError(f"{where} repeats a group name: {names}; give each group its own name.")
    for group in groups:
        if group.loss not in losses:
            raise ValueError(
                f"{where}: group {group.name!r} minimises {group.loss!r}, which compute_losses() "
                f"does not return (it returns {sorted(losses)})."
            )
    if not any(group.always for group in groups):
        raise ValueError(
            f"{where}: at least one group must update at every step (every=1, start=0), so that "
            "every step trains something and logs losses."
        )


def group_variables(model, group):
    """The variables ``group`` updates, checked to be trainable variables of ``model``."""
    if group.variables is None:
        return list(model.trainable_variables)
    trainable = {id(variable) for variable in model.trainable_variables}
    foreign = [v.name for v in group.variables if id(v) not in trainable]
    if foreign or not group.variables:
        raise ValueError(
            f"{type(model).__name__}: loss group {group.name!r} must update a non-empty set of "
            f"the model's trainable variables (checkpoints save only those); not the model's: "
            f"{foreign[:4]}."
        )
    return list(group.variables)


def make_players(model, groups, optimizer_fn, precision):
    """One ``Player`` per group: the optimizer built (in the gin scope of the group's name,
    none for the default group ``"loss"``) for the group's variables."""
    players = []
    for group in groups:
        build = group.optimizer_fn or optimizer_fn
        if group.name == DEFAULT_GROUP:
            optimizer = build(precision=precision)
        else:
            with gin.config_scope(group.name):
                optimizer = build(precision=precision)
        variables = group_variables(model, group)
        optimizer.build(variables)
        players.append(Player(group, optimizer, variables))
    return players


def active_players(players, step):
    """The players that update at ``step`` (a Python int), in order."""
    return tuple(player for player in players if player.group.active(step))


def steps_with_same_players(players, step):
    """How many steps from ``step`` on keep the same active players (None: no limit)."""
    limit = None
    for player in players:
        group = player.group
        if group.always:
            continue
        if step < group.start:
            count = group.start - step
        elif group.every > 1:
            count = 1
        else:
            continue
        limit = count if limit is None else min(limit, count)
    return limit


def _update(player, model, batch, names, replicas):
    """One group's pass: its loss, its gradients, its update; returns every loss (float32)."""
    with tf.GradientTape() as tape:
        losses = model.compute_losses(batch, training=True)
        # The gradients of the replicas are summed, so each replica's batch mean is divided by
        # the replica count: the update follows the global-batch mean.
        loss = tf.cast(losses[player.group.loss], tf.float32) / replicas
        scaled = player.optimizer.scale_loss(loss)
    gradients = tape.gradient(scaled, player.variables)
    player.optimizer.apply(gradients, player.variables)
    return {name: tf.cast(losses[name], tf.float32) for name in names}


def build_train_function(model, players, strategy, names, jit_compile):
    """``run_steps(iterator, count)``: ``count`` steps of ``players``; the mean logged losses.

    A step runs each player's pass in order (each sees the updates before it); a loss logged
    for the step is the mean over the passes.
    """
    replicas = strategy.num_replicas_in_sync

    def one_step(batch):
        passes = [_update(player, model, batch, names, replicas) for player in players]
        return {name: tf.add_n([p[name] for p in passes]) / len(passes) for name in names}

    if jit_compile:
        one_step = tf.function(one_step, jit_compile=True)

    @tf.function
    def run_steps(iterator, count):
        totals = {name: tf.constant(0.0) for name in names}
        for _ in tf.range(count):
            per_replica = strategy.run(one_step, args=(next(iterator),))
            totals = {
                name: totals[name] + strategy.reduce("MEAN", per_replica[name], axis=None)
                for name in names
            }
        return {name: totals[name] / tf.cast(count, tf.float32) for name in names}

    return run_steps


def learning_rates(players):
    """``{"learning_rate": lr}`` for the default group, ``learning_rate_<group>`` for others."""
    return {
        "learning_rate"
        if player.group.name == DEFAULT_GROUP
        else f"learning_rate_{player.group.name}": current_learning_rate(player.optimizer)
        for player in players
    }
