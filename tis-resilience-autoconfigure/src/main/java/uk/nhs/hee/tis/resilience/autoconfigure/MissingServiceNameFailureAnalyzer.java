package uk.nhs.hee.tis.resilience.autoconfigure;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Explains a service setting written without the service's name ({@code tis.resilience.services.url}
 * instead of {@code tis.resilience.services.profile.url}), which Boot would report as a value it cannot
 * convert into a service.
 */
// Before Boot's own analyzers, which would describe the same failure without the key's meaning.
@Order(Ordered.HIGHEST_PRECEDENCE)
final class MissingServiceNameFailureAnalyzer extends AbstractFailureAnalyzer<BindException> {

	private static final String SERVICES = TisResilienceProperties.PREFIX + ".services.";

	@Override
	protected @Nullable FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
		String key = cause.getName().toString();
		if (!key.startsWith(SERVICES)) {
			return null;
		}
		String setting = key.substring(SERVICES.length());
		if (setting.contains(".") || !PropertyKeys.all().contains(SERVICES + "*." + setting)) {
			return null;
		}
		String origin = (cause.getProperty() != null) ? " (set in " + cause.getProperty().getOrigin() + ")" : "";
		return new FailureAnalysis(key + " has no service name: a service's settings go under " + SERVICES
				+ "<name>, as in " + SERVICES + "profile." + setting + origin,
				"Put the setting under the name of the service it belongs to.", cause);
	}

}
