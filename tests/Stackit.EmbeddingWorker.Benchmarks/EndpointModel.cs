namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The simulated endpoint's known capacity: <see cref="Slots"/> requests are served at once (more wait in a
/// queue, as vLLM queues them), each taking <see cref="BaseLatency"/> plus <see cref="PerToken"/> for every
/// token. Optional minute budgets answer 429 with Retry-After when spent; with <see cref="RateLimitHeaders"/> every
/// answer also tells what is left of them (OpenAI's <c>x-ratelimit-remaining-*</c> and <c>x-ratelimit-reset-*</c>).
/// The budgets count as a refilling bucket that allows bursts of two seconds' worth, or with <see cref="SlidingWindow"/>
/// over every 60 s interval (what was taken in the last 60 s, no burst above the minute's budget) — STACKIT does not say
/// which it uses. <see cref="FaultRate"/> of the requests the budget admitted fail with 500 after all: their tokens stay
/// counted, as a limiter that counts at admission counts them.
/// </summary>
internal sealed record EndpointModel(
    int Slots,
    TimeSpan BaseLatency,
    TimeSpan PerToken,
    int MaxTokensPerRequest,
    int MaxInputsPerRequest,
    int Dimensions,
    int? TokensPerMinute = null,
    int? RequestsPerMinute = null,
    bool RateLimitHeaders = false,
    bool SlidingWindow = false,
    double FaultRate = 0)
{
    /// <summary>The most tokens a second any client can get through: every slot busy with full requests.</summary>
    public double CapacityTokensPerSecond =>
        Slots * MaxTokensPerRequest / (BaseLatency + (PerToken * MaxTokensPerRequest)).TotalSeconds;

    public TimeSpan ServiceTime(int tokens) => BaseLatency + (PerToken * tokens);
}
