package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.springframework.aop.Advisor;
import org.springframework.aop.config.AopConfigUtils;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.StaticMethodMatcherPointcut;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.context.annotation.Role;
import org.springframework.core.Ordered;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.interceptor.TransactionInterceptor;

import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * {@code @Fallback} and {@code @Resilient} on bean methods and HTTP interfaces: two advisors
 * (fallback outside, service guard inside), the startup checks, and fallback beans kept out of
 * injection by type. Registers Spring's infrastructure auto-proxy creator, with class proxies as
 * Boot uses, when the application has none.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class)
@ConditionalOnClass(Advisor.class)
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnSwitch("tis.resilience.enabled")
@Import(FallbackAutoConfiguration.AutoProxyRegistrar.class)
public final class FallbackAutoConfiguration {

	/** Fallbacks run outside the service guard, so that they answer when the guard rejects a call. */
	static final int FALLBACK_ORDER = Ordered.HIGHEST_PRECEDENCE + 1000;

	static final int RESILIENT_ORDER = FALLBACK_ORDER + 10;

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static FallbackMethods tisFallbackMethods() {
		return new FallbackMethods();
	}

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static FallbackBeanCandidates tisFallbackBeanCandidates() {
		return new FallbackBeanCandidates();
	}

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static FallbackAdvisorPlacement tisFallbackAdvisorPlacement() {
		return new FallbackAdvisorPlacement();
	}

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static AnnotatedBeanValidator tisAnnotatedBeanValidator(FallbackMethods fallbackMethods,
			ObjectProvider<ServiceGuardRegistry> registry) {
		return new AnnotatedBeanValidator(fallbackMethods, registry);
	}

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static Advisor tisFallbackAdvisor(FallbackMethods fallbackMethods, BeanFactory beanFactory,
			ObjectProvider<ServiceGuardRegistry> registry) {
		StaticMethodMatcherPointcut pointcut = new StaticMethodMatcherPointcut() {

			@Override
			public boolean matches(java.lang.reflect.Method method, Class<?> targetClass) {
				return FallbackMethods.annotation(method, targetClass) != null;
			}

		};
		pointcut.setClassFilter(FallbackMethods::isAnnotated);
		DefaultPointcutAdvisor advisor = new DefaultPointcutAdvisor(pointcut,
				new FallbackMethodInterceptor(fallbackMethods, beanFactory, registry,
						beanFactory.getBeanProvider(FallbackAwareTransactions.class)));
		advisor.setOrder(FALLBACK_ORDER);
		return advisor;
	}

	@Bean
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	static Advisor tisResilientAdvisor(ObjectProvider<ServiceGuardRegistry> registry) {
		StaticMethodMatcherPointcut pointcut = new StaticMethodMatcherPointcut() {

			@Override
			public boolean matches(java.lang.reflect.Method method, Class<?> targetClass) {
				return ResilientMethodInterceptor.annotation(method, targetClass) != null;
			}

		};
		pointcut.setClassFilter((type) -> FallbackMethods.isAnnotated(type, Resilient.class));
		DefaultPointcutAdvisor advisor = new DefaultPointcutAdvisor(pointcut,
				new LazyResilientMethodInterceptor(registry));
		advisor.setOrder(RESILIENT_ORDER);
		return advisor;
	}

	/** Keeps a failure a fallback answers from marking the caller's transaction rollback-only. */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.transaction.interceptor.TransactionInterceptor")
	static class TransactionsConfiguration {

		@Bean
		@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
		FallbackAwareTransactions tisFallbackAwareTransactions(FallbackMethods fallbackMethods,
				ObjectProvider<TransactionInterceptor> interceptors,
				ObjectProvider<PlatformTransactionManager> transactionManagers) {
			return new FallbackAwareTransactions(fallbackMethods, interceptors, transactionManagers);
		}

	}

	/** Registers Spring's infrastructure auto-proxy creator (class proxies, as Boot does) if none exists. */
	static class AutoProxyRegistrar implements ImportBeanDefinitionRegistrar {

		@Override
		public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
			AopConfigUtils.registerAutoProxyCreatorIfNecessary(registry);
			AopConfigUtils.forceAutoProxyCreatorToUseClassProxying(registry);
		}

	}

}
