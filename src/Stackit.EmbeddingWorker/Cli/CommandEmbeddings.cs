using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// The endpoint as a command calls it for a backfill (the recall check, the plan's calibration, the probe of a new
/// model's size): the worker's retries, and every request charged to the rate budget of its model like a backfill
/// copy. With the fleet sharing budgets (<c>Fleet:Coordination=Storage</c>), the command joins the model's ledger for
/// as long as it calls the endpoint, so the replicas make room for it — live work first — and leaves when disposed.
/// Tokens are charged at an upper bound (three bytes a token, <see cref="Preparation.JobChunker.ImageTokenEstimate"/> an
/// image) and settled at the count the endpoint reports.
/// </summary>
internal sealed class CommandEmbeddings : IEmbeddingClient, IAsyncDisposable
{
    private readonly OneOffEmbeddings _endpoint;
    private readonly EmbeddingsOptions _options;
    private readonly RateBudgets _budgets;
    private readonly FleetBudgets? _fleet;

    private CommandEmbeddings(OneOffEmbeddings endpoint, EmbeddingsOptions options, RateBudgets budgets, FleetBudgets? fleet)
    {
        _endpoint = endpoint;
        _options = options;
        _budgets = budgets;
        _fleet = fleet;
    }

    /// <summary>A client for <paramref name="options"/>' endpoint and models, charged to the budgets the fleet shares.</summary>
    public static async Task<CommandEmbeddings> StartAsync(CliContext context, EmbeddingsOptions options, CancellationToken cancellationToken)
    {
        var shared = context.Fleet.Coordination == FleetCoordination.Storage && options.AnyBudget;
        var budgets = new RateBudgets(options, context.Batching.MaxTokensPerRequest, TimeProvider.System, context.Fleet.TargetUtilization);
        FleetBudgets? fleet = null;
        if (shared)
        {
            fleet = new FleetBudgets(budgets, model => new BlobFleetLedger(new Lazy<Azure.Storage.Blobs.BlobContainerClient>(() => context.ClaimChecks.Container), model),
                context.Fleet, TimeProvider.System, NullLoggerFactory.Instance);
            await fleet.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        return new CommandEmbeddings(EmbeddingsResilience.CreateOneOff(options), options, budgets, fleet);
    }

    public Task<EmbeddingResult> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
        EmbedAsync(_options.Model, _options.Dimensions, inputs, cancellationToken);

    public Task<EmbeddingResult> EmbedAsync(string model, int? dimensions, IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
        ChargedAsync(model, inputs.Sum(i => TokenCalibration.AtRatio(i, TokenCalibration.InitialTokensPerByte)),
            token => _endpoint.Client.EmbedAsync(model, dimensions, inputs, token), cancellationToken);

    public Task<EmbeddingResult> EmbedMultimodalAsync(string? text, IReadOnlyList<string> images, CancellationToken cancellationToken) =>
        ChargedAsync(_options.MultimodalModel ?? throw new InvalidOperationException("Embeddings:MultimodalModel is not set."),
            TokenCalibration.AtRatio(text ?? "", TokenCalibration.InitialTokensPerByte) + ((long)Preparation.JobChunker.ImageTokenEstimate * images.Count),
            token => _endpoint.Client.EmbedMultimodalAsync(text, images, token), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_fleet is not null)
        {
            await _fleet.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _budgets.Dispose();
        _endpoint.Dispose();
    }

    private Task<EmbeddingResult> ChargedAsync(string model, long tokens, Func<CancellationToken, Task<EmbeddingResult>> send, CancellationToken cancellationToken) =>
        _budgets.For(model).ChargeAsync((int)Math.Min(tokens, int.MaxValue), send, cancellationToken, backfill: true);
}
