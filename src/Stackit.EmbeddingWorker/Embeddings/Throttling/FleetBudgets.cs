namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// Shares every model's budget with the fleet: a <see cref="FleetBudgetService"/> per limited budget of
/// <see cref="RateBudgets"/>, each with its own ledger (<c>fleet/&lt;model&gt;/</c>), started when the budget is made
/// (the configured models' at start, a migration target's at its first request) and stopped, giving the shares back,
/// when the worker stops.
/// </summary>
internal sealed class FleetBudgets(
    RateBudgets budgets,
    Func<string, IFleetLedger> ledgerOf,
    FleetOptions options,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService
{
    private readonly Dictionary<string, FleetBudgetService> _services = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _stopped;

    /// <summary>The replicas counted in the last heartbeat of <paramref name="model"/>'s budget, if it is shared.</summary>
    public int? Members(string model)
    {
        lock (_gate)
        {
            return _services.TryGetValue(model, out var service) ? service.Members : null;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        budgets.OnCreated(Join);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<FleetBudgetService> services;
        lock (_gate)
        {
            _stopped = true;
            services = [.. _services.Values];
        }
        await Task.WhenAll(services.Select(s => s.StopAsync(cancellationToken))).ConfigureAwait(false);
        foreach (var service in services)
        {
            service.Dispose();
        }
    }

    private void Join(string model, EndpointRateBudget budget)
    {
        if (!budget.IsLimited)
        {
            return;
        }
        FleetBudgetService service;
        lock (_gate)
        {
            if (_stopped || _services.ContainsKey(model))
            {
                return;
            }
            service = new FleetBudgetService(ledgerOf(model), budget, options, time, loggers.CreateLogger<FleetBudgetService>(), model: model);
            _services.Add(model, service);
        }
        // Starting holds the budget at no share (at once, before any request of the model is admitted) and begins the
        // first heartbeat, which runs on its own.
        _ = service.StartAsync(CancellationToken.None);
    }
}
