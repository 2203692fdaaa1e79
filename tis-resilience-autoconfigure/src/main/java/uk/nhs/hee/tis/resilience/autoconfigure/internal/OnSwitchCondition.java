package uk.nhs.hee.tis.resilience.autoconfigure.internal;

import java.util.Map;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Evaluates {@link ConditionalOnSwitch} by binding each property to {@link Boolean} with Boot's own
 * {@link Binder}; a value that does not convert throws Boot's {@code BindException}, which Boot's
 * failure analysis reports with the key, the value and where it was set.
 */
final class OnSwitchCondition extends SpringBootCondition {

	@Override
	public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
		Map<String, Object> attributes = metadata.getAnnotationAttributes(ConditionalOnSwitch.class.getName());
		Binder binder = Binder.get(context.getEnvironment());
		for (String name : (String[]) attributes.get("value")) {
			if (!binder.bind(name, Boolean.class).orElse(true)) {
				return ConditionOutcome.noMatch(name + " is off");
			}
		}
		return ConditionOutcome.match("every switch is on");
	}

}
