using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>Checks <see cref="ChunkingOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class ChunkingOptionsValidator : IValidateOptions<ChunkingOptions>;
