namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// One <see cref="EndpointRateBudget"/> per model: STACKIT limits each model of a project apart, so during a migration
/// the served collection's model and the backfill target's model draw on two budgets, each with live work first. A
/// model's budget is made the first time it is asked for, sized by <c>Embeddings:ModelBudgets</c> or the default
/// (<see cref="EmbeddingsOptions.BudgetOf"/>). With the fleet sharing budgets, <see cref="FleetBudgets"/> is told of a new
/// budget (<see cref="OnCreated"/>) before the first request can use it, and holds it at no share until its first heartbeat.
/// </summary>
internal sealed class RateBudgets : IDisposable
{
    // Read without the lock on every request; the lock only orders making a budget with telling of it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, EndpointRateBudget> _budgets = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly EmbeddingsOptions _options;
    private readonly int _maxTokensPerRequest;
    private readonly TimeProvider _time;
    private readonly double _targetUtilization;
    private Action<string, EndpointRateBudget>? _created;

    /// <summary>Budgets sized by <paramref name="options"/>, each aiming at <paramref name="targetUtilization"/> (<c>Fleet:TargetUtilization</c>) of itself.</summary>
    public RateBudgets(EmbeddingsOptions options, int maxTokensPerRequest, TimeProvider time, double targetUtilization = 1.0)
    {
        _options = options;
        _maxTokensPerRequest = maxTokensPerRequest;
        _time = time;
        _targetUtilization = targetUtilization;
    }

    /// <summary>
    /// Called with every budget made from now on, and at once with every budget made before (in the caller's thread).
    /// </summary>
    public void OnCreated(Action<string, EndpointRateBudget> created)
    {
        List<KeyValuePair<string, EndpointRateBudget>> existing;
        lock (_gate)
        {
            _created += created;
            existing = [.. _budgets];
        }
        foreach (var (model, budget) in existing)
        {
            created(model, budget);
        }
    }

    /// <summary>
    /// The budget of <paramref name="model"/>, made now if it is the first request of that model; those told of new budgets
    /// have been told before it is returned.
    /// </summary>
    public EndpointRateBudget For(string model)
    {
        if (_budgets.TryGetValue(model, out var known))
        {
            return known;
        }
        EndpointRateBudget budget;
        Action<string, EndpointRateBudget>? created;
        lock (_gate)
        {
            if (_budgets.TryGetValue(model, out known))
            {
                return known;
            }
            var (tokens, requests) = _options.BudgetOf(model);
            budget = new EndpointRateBudget(tokens, requests, _maxTokensPerRequest, _time, targetUtilization: _targetUtilization);
            _budgets[model] = budget;
            created = _created;
        }
        created?.Invoke(model, budget);
        return budget;
    }

    /// <summary>The budgets made so far, by model.</summary>
    public IReadOnlyList<KeyValuePair<string, EndpointRateBudget>> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _budgets];
            }
        }
    }

    public void Dispose()
    {
        foreach (var (_, budget) in All)
        {
            budget.Dispose();
        }
    }
}
