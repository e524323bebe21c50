using System.ComponentModel.DataAnnotations;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>The <c>Embeddings</c> section: the OpenAI-compatible endpoint and how hard to drive it.</summary>
public sealed class EmbeddingsOptions : IValidatableObject
{
    public const string SectionName = "Embeddings";

    /// <summary>Base URL including the API version segment; requests go to <c>{BaseUrl}/embeddings</c>.</summary>
    [Required(ErrorMessage = "Embeddings:BaseUrl is required.")]
    public Uri BaseUrl { get; set; } = new("https://api.openai-compat.model-serving.eu01.onstackit.cloud/v1");

    /// <summary>Bearer token. A secret: never logged, never part of an exception message.</summary>
    [Required(ErrorMessage = "Embeddings:ApiKey is required (set Embeddings__ApiKey in the environment or a secret).")]
    public string ApiKey { get; set; } = "";

    [Required(ErrorMessage = "Embeddings:Model is required.")]
    public string Model { get; set; } = "intfloat/e5-mistral-7b-instruct";

    /// <summary>Model for jobs with images; unset means such jobs are rejected as unsupported.</summary>
    public string? MultimodalModel { get; set; }

    /// <summary>
    /// Vector size asked of <see cref="Model"/> (sent as <c>dimensions</c>, for models trained to give shorter vectors);
    /// unset: the model's own. Every answer must have it; the collection's vector size must match it.
    /// </summary>
    [Range(1, 65_536)]
    public int? Dimensions { get; set; }

    /// <summary>As <see cref="Dimensions"/>, for <see cref="MultimodalModel"/> (e.g. Qwen3-VL-Embedding-8B).</summary>
    [Range(1, 65_536)]
    public int? MultimodalDimensions { get; set; }

    /// <summary>Upper bound of requests in flight; the worker finds the level the endpoint sustains below it.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>
    /// The project's token budget per minute of each model (estimated tokens), shared by the fleet; unset means none.
    /// STACKIT limits every model of a project apart, so each model the worker calls draws on a budget of its own of this
    /// size, unless <see cref="ModelBudgets"/> names the model.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int? TokensPerMinute { get; set; }

    /// <summary>The project's request budget per minute of each model, as <see cref="TokensPerMinute"/>; unset means none.</summary>
    [Range(1, int.MaxValue)]
    public int? RequestsPerMinute { get; set; }

    /// <summary>
    /// Budgets of particular models that differ from <see cref="TokensPerMinute"/>/<see cref="RequestsPerMinute"/>
    /// (e.g. the model a backfill migrates to, or the multimodal model): <c>Embeddings:ModelBudgets:0:Model</c>,
    /// <c>…:TokensPerMinute</c>, <c>…:RequestsPerMinute</c>. A limit left unset there is none for that model.
    /// </summary>
    public List<ModelBudget> ModelBudgets { get; set; } = [];

    /// <summary>The model's context length; no single input may be longer.</summary>
    [Range(16, 1_000_000)]
    public int MaxInputTokens { get; set; } = 4_096;

    /// <summary>Timeout of one attempt; retries come on top, bounded by <see cref="MaxRetries"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    [Range(1, 20)]
    public int MaxRetries { get; set; } = 6;

    /// <summary>First retry delay; later ones grow exponentially with jitter unless the server sends Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <c>Base64</c> asks for base64 vectors and falls back to <c>Float</c> for good if the server refuses it.
    /// </summary>
    public EmbeddingEncoding Encoding { get; set; } = EmbeddingEncoding.Base64;

    /// <summary>
    /// Optional tokenizer of the model (SentencePiece <c>.model</c> or <c>.tiktoken</c>) for exact token counts.
    /// Without it, counts are estimated from the UTF-8 length and calibrated from each response's usage.
    /// </summary>
    public string? TokenizerFile { get; set; }

    /// <summary>How far above the calibrated count estimates stay, as a fraction (0.05 = 5%).</summary>
    [Range(0.0, 1.0)]
    public double TokenEstimateMargin { get; set; } = 0.05;

    /// <summary>
    /// The task a search query is embedded for, as instruction-tuned models (e5-mistral, Qwen3-Embedding) expect
    /// queries: <c>Instruct: {task}\nQuery: {query}</c>. Documents are embedded without it. Empty: queries are
    /// embedded as they are (models without instructions).
    /// </summary>
    public string QueryInstruction { get; set; } = "Given a web search query, retrieve relevant passages that answer the query";

    /// <summary>The price of a million tokens, in the operator's currency, for <c>backfill --plan</c>; unset: no cost shown.</summary>
    [Range(0.0, 1_000_000.0)]
    public decimal? PricePerMillionTokens { get; set; }

    /// <summary>A search query as the model expects it (see <see cref="QueryInstruction"/>).</summary>
    public string QueryText(string query) =>
        string.IsNullOrWhiteSpace(QueryInstruction) ? query : $"Instruct: {QueryInstruction}\nQuery: {query}";

    public Uri EmbeddingsUri => new(BaseUrl.AbsoluteUri.TrimEnd('/') + "/embeddings");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BaseUrl is { IsAbsoluteUri: false } || (BaseUrl is not null && BaseUrl.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("Embeddings:BaseUrl must be an absolute http(s) URL.");
        }
        for (var i = 0; i < ModelBudgets.Count; i++)
        {
            var budget = ModelBudgets[i];
            if (string.IsNullOrWhiteSpace(budget.Model))
            {
                yield return new ValidationResult($"Embeddings:ModelBudgets:{i}:Model is required.");
            }
            else if (ModelBudgets.FindIndex(b => string.Equals(b.Model, budget.Model, StringComparison.Ordinal)) != i)
            {
                yield return new ValidationResult($"Embeddings:ModelBudgets:{i}:Model names {budget.Model} a second time.");
            }
            if (budget.TokensPerMinute is < 1 || budget.RequestsPerMinute is < 1)
            {
                yield return new ValidationResult($"Embeddings:ModelBudgets:{i}: TokensPerMinute and RequestsPerMinute must be at least 1 when set.");
            }
        }
    }

    /// <summary>The budget per minute of <paramref name="model"/>: its own entry in <see cref="ModelBudgets"/>, else the default.</summary>
    internal (int? TokensPerMinute, int? RequestsPerMinute) BudgetOf(string model) =>
        ModelBudgets.Find(b => string.Equals(b.Model, model, StringComparison.Ordinal)) is { } own
            ? (own.TokensPerMinute, own.RequestsPerMinute)
            : (TokensPerMinute, RequestsPerMinute);

    /// <summary>Whether any model has a budget: then the fleet shares them through the ledger.</summary>
    internal bool AnyBudget => TokensPerMinute is not null || RequestsPerMinute is not null
        || ModelBudgets.Exists(b => b.TokensPerMinute is not null || b.RequestsPerMinute is not null);

    /// <summary>The model and <c>dimensions</c> that embed a collection of this kind: the multimodal ones, or the text ones.</summary>
    internal (string? Model, int? Dimensions) ModelFor(bool multimodal) =>
        multimodal ? (MultimodalModel, MultimodalDimensions) : (Model, Dimensions);

    /// <summary>These settings with another text model (a collection's own, or <c>backfill --model</c>).</summary>
    internal EmbeddingsOptions WithModel(string model, int? dimensions)
    {
        var copy = (EmbeddingsOptions)MemberwiseClone();
        copy.Model = model;
        copy.Dimensions = dimensions;
        return copy;
    }

    internal EmbeddingModels Models => new(Model, string.IsNullOrWhiteSpace(MultimodalModel) ? null : MultimodalModel, Dimensions, MultimodalDimensions);
}

/// <summary>One model's budget per minute in the project (<c>Embeddings:ModelBudgets</c>).</summary>
public sealed class ModelBudget
{
    public string Model { get; set; } = "";

    public int? TokensPerMinute { get; set; }

    public int? RequestsPerMinute { get; set; }
}
