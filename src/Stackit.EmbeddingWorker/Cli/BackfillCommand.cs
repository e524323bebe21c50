using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>backfill</c>: re-embeds the collection behind an alias into a new versioned collection, through the backfill
/// queue that all running replicas work on, and switches the alias when the copy is complete (see
/// <see cref="BackfillPlanner"/>). Meant for the nightly CronJob; safe to run again after an interruption.
/// </summary>
internal static class BackfillCommand
{
    public static Command Create(Func<CliContext> context)
    {
        var alias = new Option<string?>("--alias") { Description = "The alias to re-embed (default: Qdrant:Collection)." };
        var target = new Option<string?>("--target") { Description = "The new collection (default: <alias>_v<n+1>)." };
        var noSwitch = new Option<bool>("--no-switch") { Description = "Copy, but leave the alias where it is." };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "Longest wait for the copy (hh:mm:ss).", DefaultValueFactory = _ => TimeSpan.FromHours(12) };
        var poll = new Option<TimeSpan>("--poll") { Description = "How often the queue is looked at while waiting.", DefaultValueFactory = _ => TimeSpan.FromSeconds(5) };
        var plan = new Option<bool>("--plan") { Description = "Show what the backfill would re-embed and cost (documents, chunks, tokens, price, duration); write nothing." };
        var noCalibrate = new Option<bool>("--no-calibrate") { Description = "With --plan: estimate tokens without asking the endpoint to count a sample." };
        var model = new Option<string?>("--model") { Description = "The model of the new collection (default: Embeddings:Model); its vector size is what the endpoint answers for it." };
        var dimensions = new Option<int?>("--dimensions") { Description = "With --model: the dimensions to ask of it (default: Embeddings:Dimensions when --model is not given, else none)." };
        var force = new Option<bool>("--force") { Description = "Rebuild even when the collection is up to date (same model, size and layout as a backfill would build)." };
        var abort = new Option<bool>("--abort") { Description = "Give up the running backfill: remove its marker and delete its target." };
        var command = new Command("backfill", "Re-embed a collection into a new one and switch its alias.") { alias, target, noSwitch, timeout, poll, plan, noCalibrate, model, dimensions, force, abort };
        command.SetAction((parse, cancellationToken) =>
            parse.GetValue(abort) ? AbortAsync(context(), parse.GetValue(alias), cancellationToken)
            : parse.GetValue(plan) ? PlanAsync(WithModel(context(), parse.GetValue(model), parse.GetValue(dimensions)), parse.GetValue(alias), parse.GetValue(target), !parse.GetValue(noCalibrate), cancellationToken)
            : RunAsync(context(), parse.GetValue(alias), parse.GetValue(target), !parse.GetValue(noSwitch), parse.GetValue(timeout), parse.GetValue(poll), parse.GetValue(force), parse.GetValue(model), parse.GetValue(dimensions), cancellationToken));
        return command;
    }

    private static async Task<int> PlanAsync(CliContext context, string? alias, string? target, bool calibrate, CancellationToken cancellationToken)
    {
        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        return await new BackfillPlan(qdrant, context).RunAsync(alias ?? context.Qdrant.Collection, target, calibrate, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The command's settings with <c>--model</c> (and <c>--dimensions</c>) as the model of the collection it builds.</summary>
    private static CliContext WithModel(CliContext context, string? model, int? dimensions)
    {
        if (model is { Length: > 0 })
        {
            context.UseModel(model, dimensions);
        }
        return context;
    }

    private static async Task<int> RunAsync(CliContext context, string? alias, string? target, bool switchAlias, TimeSpan timeout, TimeSpan poll, bool force, string? model, int? dimensions, CancellationToken cancellationToken)
    {
        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        var collections = new CollectionProvisioner(qdrant, context.Qdrant, NullLogger<CollectionProvisioner>.Instance, context.Embeddings.Models);
        // The target's model: --model, else the one a running backfill's target records (a resumed run checks recall with
        // it), else Embeddings:Model.
        var name = alias ?? context.Qdrant.Collection;
        var running = (await collections.AliasesAsync(cancellationToken).ConfigureAwait(false)).GetValueOrDefault(BackfillAliases.Next(name));
        var settings = model is { Length: > 0 } ? context.Embeddings.WithModel(model, dimensions)
            : running is not null && await collections.EmbeddingOfAsync(running, cancellationToken).ConfigureAwait(false) is { } recorded ? context.Embeddings.WithModel(recorded.Model, recorded.Dimensions)
            : context.Embeddings;
        // The recall check and the probe of the model's size are charged to the budget of the target's model.
        await using var embeddings = await CommandEmbeddings.StartAsync(context, settings, cancellationToken).ConfigureAwait(false);
        var planner = new BackfillPlanner(qdrant, collections, context.Queues, context.Backfill, context.Queue, context.Qdrant, context.Output, TimeProvider.System,
            new RecallCheck(qdrant, embeddings), settings, embeddings);
        return await planner.RunAsync(alias ?? context.Qdrant.Collection, target, switchAlias, timeout, poll, cancellationToken, force).ConfigureAwait(false);
    }

    private static async Task<int> AbortAsync(CliContext context, string? alias, CancellationToken cancellationToken)
    {
        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        var collections = new CollectionProvisioner(qdrant, context.Qdrant, NullLogger<CollectionProvisioner>.Instance, context.Embeddings.Models);
        return await new BackfillCollections(qdrant, collections, context.Queues, context.Backfill, context.Queue, context.Output)
            .AbortAsync(alias ?? context.Qdrant.Collection, cancellationToken).ConfigureAwait(false);
    }
}
