package uk.nhs.hee.tis.resilience.autoconfigure.internal;


import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.springframework.context.annotation.Conditional;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;

/**
 * Matches when every boolean setting named in {@link #value()} is on or absent. The value is read as Spring Boot
 * binds a {@code boolean} property ({@code true/false}, {@code on/off}, {@code yes/no}, {@code 1/0}, any
 * case), so the switch means what {@code TisResilienceProperties} means by it; any other value stops
 * startup naming the key. Boot's {@code @ConditionalOnBooleanProperty} compares the text with
 * {@code "true"}, so {@code on} or a typo such as {@code flase} would silently turn the starter off.
 *
 * @since 0.1.0
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ ElementType.TYPE, ElementType.METHOD })
@Documented
@Conditional(OnSwitchCondition.class)
public @interface ConditionalOnSwitch {

	/**
	 * Full names of the boolean properties, for example {@code tis.resilience.enabled}; all must be on.
	 * @return the property names
	 */
	String[] value();

}
