package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;

import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Checks every bean's {@code @Fallback} and {@code @Resilient} declarations as it is created, so
 * that a fallback that does not fit, or a service nobody configured, stops startup instead of
 * surfacing at the first outage.
 */
final class AnnotatedBeanValidator implements BeanPostProcessor {

	private final FallbackMethods fallbackMethods;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	AnnotatedBeanValidator(FallbackMethods fallbackMethods, ObjectProvider<ServiceGuardRegistry> registry) {
		this.fallbackMethods = fallbackMethods;
		this.registry = registry;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		Class<?> targetClass = AopUtils.getTargetClass(bean);
		if (targetClass.getName().startsWith("org.springframework.")) {
			return bean;
		}
		if (FallbackMethods.isAnnotated(targetClass)) {
			this.fallbackMethods.validate(targetClass);
		}
		if (FallbackMethods.isAnnotated(targetClass, Resilient.class)) {
			for (Method method : FallbackMethods.candidateMethods(targetClass)) {
				Resilient resilient = ResilientMethodInterceptor.annotation(method, targetClass);
				if (resilient != null) {
					checkServiceIsConfigured(resilient, method);
				}
			}
		}
		return bean;
	}

	private void checkServiceIsConfigured(Resilient resilient, Method method) {
		Map<String, ?> configured = this.registry.getObject().configuredPolicies();
		if (!configured.containsKey(resilient.service())) {
			Set<String> names = configured.keySet();
			throw new IllegalStateException("@Resilient(service = \"" + resilient.service() + "\") on "
					+ FallbackMethods.describe(method) + " names a service that is not configured: add "
					+ "tis.resilience.services." + resilient.service() + ".* (configured services: "
					+ (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
		}
	}

}
