using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Batching;

/// <summary>Checks <see cref="BatchingOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class BatchingOptionsValidator : IValidateOptions<BatchingOptions>;
