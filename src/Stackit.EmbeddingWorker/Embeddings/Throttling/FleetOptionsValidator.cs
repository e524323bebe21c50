using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>Checks <see cref="FleetOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class FleetOptionsValidator : IValidateOptions<FleetOptions>;
